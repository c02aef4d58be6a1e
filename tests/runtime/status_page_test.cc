// The live status page (/ and /api/v1/status) built from reports that went
// through the real pipeline's signal stages.
#include "runtime/status_page.h"

#include <gtest/gtest.h>

#include "fakes/activity.h"
#include "fakes/fake_clock.h"
#include "golden_file.h"
#include "pgbouncer/pgbouncer.h"
#include "postgres/observations.h"
#include "runtime/publisher.h"
#include "runtime/target_pipeline.h"

namespace pgconn {
namespace {

constexpr char kHostile[] = "<img src=x onerror=alert(1)>";

ExportSettings Settings() {
  // A fixed wall clock: the history's times are in the golden files.
  static const FakeClock kClock;
  ExportSettings s;
  s.poll_interval_seconds = 5;
  s.near_limit_threshold = 0.8;
  s.clock = &kClock;
  return s;
}

// max_connections 20, 3 reserved: 17 usable, the headroom line at 13.6.
TargetReport Postgres(std::vector<ActivityGroup> groups, bool declare = false) {
  TargetConfig config;
  config.name = "main";
  if (declare) {
    PoolDeclaration worker;
    worker.application = "worker";
    worker.replicas = 2;
    worker.pool_max = 4;
    config.pools = {worker};
    config.overhead = 2;
  }
  const TargetPipeline pipeline(config, Settings());
  Snapshot snap;
  snap.Put(ConnectionLimits{150000, 20, 3, 0, false});
  Activity a;
  a.groups = std::move(groups);
  Summarize(&a);
  snap.Put(std::move(a));
  pipeline.Derive(&snap);
  TargetReport r;
  r.target = "main";
  r.up = true;
  r.snapshot = std::make_shared<const Snapshot>(std::move(snap));
  r.stats.attempted = true;
  r.stats.last_success_unix = 1700000000.5;
  return r;
}

std::vector<ActivityGroup> Typical() {
  return {Group("worker", "idle", 6, 40), Group("worker", "active", 3, 0.5),
          Group(kHostile, "idle in transaction", 1, 400, 410),
          Group("bot", "idle", 0)};
}

TargetReport Bouncer(int64_t waiting) {
  TargetReport r;
  r.target = "bouncer";
  r.kind = TargetKind::kPgBouncer;
  r.up = true;
  r.stats.attempted = true;
  Snapshot snap;
  PgBouncerPools pools;
  PgBouncerPool p;
  p.database = "app";
  p.user = "worker";
  p.clients = {{"active", 4}, {"waiting", waiting}};
  p.servers = {{"active", 4}, {"idle", 1}};
  p.max_wait_seconds = waiting > 0 ? 1.25 : 0;
  pools.pools = {p};
  Summarize(&pools);
  snap.Put(std::move(pools));
  r.snapshot = std::make_shared<const Snapshot>(std::move(snap));
  return r;
}

std::vector<std::string> Alerts(const TargetStatus& t) {
  std::vector<std::string> out;
  for (const WarningSign& w : t.warnings) {
    out.push_back(w.alert + "/" + w.severity);
  }
  return out;
}

TEST(StatusPageTest, ModelHasTheNumbersOfTheSnapshot) {
  const StatusModel m = BuildStatusModel({Postgres(Typical())});
  ASSERT_EQ(m.targets.size(), 1u);
  const TargetStatus& t = m.targets[0];
  EXPECT_EQ(t.kind, "postgres");
  ASSERT_TRUE(t.connections.has_value());
  const ConnectionStatus& c = *t.connections;
  EXPECT_EQ(c.max_connections, 20);
  EXPECT_EQ(c.reserved, 3);
  EXPECT_EQ(c.usable, 17);
  EXPECT_EQ(c.used, 10);
  EXPECT_EQ(c.available, 7);
  EXPECT_DOUBLE_EQ(c.utilization, 10.0 / 17);
  EXPECT_DOUBLE_EQ(c.headroom_connections, 0.8 * 17);
  EXPECT_EQ(c.states.at("idle"), 6);
  EXPECT_EQ(c.states.at("active"), 3);
  EXPECT_EQ(c.states.at("idle in transaction"), 1);
  EXPECT_EQ(c.states.at("disabled"), 0);
  EXPECT_DOUBLE_EQ(c.idle_ratio, 0.6);
  EXPECT_DOUBLE_EQ(c.oldest_idle_in_transaction_seconds, 400);
  // Most connections first; an application with none is left out.
  ASSERT_EQ(c.applications.size(), 2u);
  EXPECT_EQ(c.applications[0].application, "worker");
  EXPECT_EQ(c.applications[0].connections, 9);
  EXPECT_EQ(c.applications[1].application, kHostile);
  EXPECT_EQ(c.applications[1].states.at("idle in transaction"), 1);
  EXPECT_EQ(Alerts(t),
            std::vector<std::string>{"PgconnIdleInTransactionTooLong/warning"});
  // One poll: the peak over the window is that poll.
  ASSERT_TRUE(c.peak_used.has_value());
  EXPECT_EQ(*c.peak_used, 10);
  EXPECT_DOUBLE_EQ(c.peak_utilization.value_or(0), 10.0 / 17);
  EXPECT_EQ(c.peak_window_seconds, 60);
}

TEST(StatusPageTest, PeakIsTheHighestPollOfTheWindow) {
  // Two polls through one pipeline: 10 used, then 4; the peak stays 10.
  TargetConfig config;
  config.name = "main";
  const TargetPipeline pipeline(config, Settings());
  std::shared_ptr<const Snapshot> last;
  for (auto groups : {Typical(), std::vector<ActivityGroup>{
                                     Group("worker", "idle", 4, 40)}}) {
    Snapshot snap;
    snap.Put(ConnectionLimits{150000, 20, 3, 0, false});
    Activity a;
    a.groups = std::move(groups);
    Summarize(&a);
    snap.Put(std::move(a));
    pipeline.Derive(&snap);
    last = std::make_shared<const Snapshot>(std::move(snap));
  }
  TargetReport r;
  r.target = "main";
  r.up = true;
  r.stats.attempted = true;
  r.snapshot = last;
  const StatusModel m = BuildStatusModel({r});
  const ConnectionStatus& c = *m.targets.at(0).connections;
  EXPECT_EQ(c.used, 4);
  EXPECT_EQ(c.peak_used.value_or(-1), 10);
  const auto page = BuildStatusPage({r}, 5);
  EXPECT_NE(page->json().find("\"used_connections\": 10"), std::string::npos)
      << page->json();
  EXPECT_NE(page->html().find("10 used (58.8 %) in the last 60 s"),
            std::string::npos)
      << page->html();
}

TEST(StatusPageTest, WarningSignsFollowTheAlertThresholds) {
  struct Case {
    const char* what;
    TargetReport report;
    std::vector<std::string> alerts;
  };
  TargetReport down = Postgres({Group("worker", "idle", 1)});
  down.up = false;
  const Case cases[] = {
      {"quiet", Postgres({Group("worker", "idle", 5)}), {}},
      {"13 of 17 is under the 0.8 line",
       Postgres({Group("worker", "active", 13)}),
       {}},
      {"14 of 17 is over it",
       Postgres({Group("worker", "active", 14)}),
       {"PgconnConnectionsNearLimit/warning"}},
      {"16 of 17 is over 0.9",
       Postgres({Group("worker", "active", 16)}),
       {"PgconnConnectionsNearLimit/critical"}},
      {"17 of 17: exhausted, not also near the limit",
       Postgres({Group("worker", "active", 17)}),
       {"PgconnConnectionsExhausted/critical"}},
      {"idle in transaction for 901 s",
       Postgres({Group("bot", "idle in transaction", 1, 901, 950)}),
       {"PgconnIdleInTransactionTooLong/critical"}},
      {"5 waiting on locks",
       Postgres({Group("worker", "active", 5, 0, 0, 5)}),
       {"PgconnConnectionsWaitingOnLocks/warning"}},
      {"10 connections against 2 x 4 declared",
       Postgres({Group("worker", "idle", 10)}, /*declare=*/true),
       {"PgconnPoolExceedsDeclared/warning"}},
      {"down keeps its last numbers", down, {"PgconnTargetDown/critical"}},
      {"PgBouncer clients waiting",
       Bouncer(3),
       {"PgconnPgbouncerClientsWaiting/warning"}},
      {"PgBouncer with nobody waiting", Bouncer(0), {}},
  };
  for (const Case& c : cases) {
    const StatusModel m = BuildStatusModel({c.report});
    ASSERT_EQ(m.targets.size(), 1u);
    EXPECT_EQ(Alerts(m.targets[0]), c.alerts) << c.what;
  }
}

TEST(StatusPageTest, HtmlEscapeCoversTextAndAttributes) {
  EXPECT_EQ(HtmlEscape(kHostile), "&lt;img src=x onerror=alert(1)&gt;");
  EXPECT_EQ(HtmlEscape("a&b\"c'd"), "a&amp;b&quot;c&#39;d");
  EXPECT_EQ(HtmlEscape("plain"), "plain");
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(StatusPageTest, HostileApplicationNameIsTextInHtmlAndAStringInJson) {
  auto page = BuildStatusPage({Postgres(Typical())}, 5);
  const std::string& html = page->html();
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"application\">&lt;img src=x "
                      "onerror=alert(1)&gt;</td>"),
            std::string::npos);
  // In an attribute value too (the bar segment's title).
  EXPECT_NE(html.find("title=\"&lt;img src=x onerror=alert(1)&gt;: 1\""),
            std::string::npos);
  EXPECT_NE(page->json().find("\"application\": \"<img src=x "
                              "onerror=alert(1)>\""),
            std::string::npos)
      << page->json();
}

TEST(StatusPageTest, HtmlIsSelfContainedSmallAndReloads) {
  auto page = BuildStatusPage({Postgres(Typical(), true), Bouncer(3)}, 7);
  const std::string& html = page->html();
  EXPECT_NE(html.find("<meta http-equiv=\"refresh\" content=\"7\">"),
            std::string::npos);
  // No script, no external asset: nothing is fetched but the page itself.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), html.find("src=x"));
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_LT(html.size(), 16u * 1024) << "two targets";
  // Each warning sign links its runbook.
  EXPECT_NE(html.find("<a href=\"https://github.com/pgconn/pgconn/blob/main/"
                      "docs/runbooks/PgconnPgbouncerClientsWaiting.md\">"),
            std::string::npos);
}

TEST(StatusPageTest, MatchesGoldenFiles) {
  auto page = BuildStatusPage({Postgres(Typical(), true), Bouncer(3)}, 5);
  ExpectGolden("status_page.json", page->json());
  ExpectGolden("status_page.html", page->html());
}

TEST(StatusPageTest, PublisherBuildsThePageOncePerChange) {
  Publisher p(ExpositionPart{});
  const TargetPipeline pipeline(TargetConfig{}, Settings());
  TargetReport r = Postgres(Typical());
  p.Publish(r, pipeline.Render(r));
  auto first = p.CurrentPage();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(p.CurrentPage().get(), first.get()) << "nothing changed";
  EXPECT_NE(first->json().find("\"used_connections\": 10"), std::string::npos);
  TargetReport more = Postgres({Group("worker", "active", 12)});
  p.Publish(more, pipeline.Render(more));
  auto second = p.CurrentPage();
  EXPECT_NE(second.get(), first.get());
  EXPECT_NE(second->json().find("\"used_connections\": 12"), std::string::npos);
  // A reader of the old page still holds it intact.
  EXPECT_NE(first->json().find("\"used_connections\": 10"), std::string::npos);
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

// A report whose snapshot holds `history`, 17 usable slots.
TargetReport WithHistory(std::vector<UsedSample> history) {
  TargetReport r = Postgres(Typical());
  Snapshot snap = *r.snapshot;
  snap.Put(UsedHistory{std::move(history), 1});
  r.snapshot = std::make_shared<const Snapshot>(std::move(snap));
  return r;
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

TEST(StatusPageTest, TheLastHourIsAChartWithGapsAndTenSecondPoints) {
  std::vector<UsedSample> h;
  const int64_t t0 = 1'700'000'000'000;
  // A minute at one poll a second, used 1..60; 30 s without a poll; 20 s.
  for (int i = 0; i < 60; ++i) h.push_back({t0 + i * 1000, i + 1});
  for (int i = 0; i < 20; ++i) h.push_back({t0 + 90'000 + i * 1000, 5});
  const std::string html =
      RenderStatusHtml(BuildStatusModel({WithHistory(h)}), 5);
  EXPECT_NE(html.find("data-field=\"used_history\" data-samples=\"80\" "
                      "data-highest=\"60\""),
            std::string::npos)
      << html;
  EXPECT_EQ(Count(html, "<polyline class=\"used\""), 2);
  // One point per 10 s bucket, the bucket's highest: 6 then 2 (+1 for a
  // bucket boundary inside the 20 s).
  const size_t first = html.find("points=\"");
  const std::string points =
      html.substr(first + 8, html.find('"', first + 8) - first - 8);
  EXPECT_EQ(Count(points, ","), 6) << points;
  EXPECT_NE(html.find("Highest <b data-field=\"used_highest\">60</b> at "
                      "22:14:19 UTC"),
            std::string::npos);
  // Every sample in the JSON.
  const std::string json = RenderStatusJson(BuildStatusModel({WithHistory(h)}));
  EXPECT_NE(json.find("\"used_history\": {\n"), std::string::npos) << json;
  EXPECT_EQ(Count(json, "1700000"), 80 + 1) << json;  // + last_success
  // An hour at one poll a second stays a few kilobytes of HTML.
  std::vector<UsedSample> hour;
  for (int i = 0; i < 3600; ++i) hour.push_back({t0 + i * 1000, i % 17});
  const std::string big =
      RenderStatusHtml(BuildStatusModel({WithHistory(hour)}), 5);
  EXPECT_LT(big.size(), 16u * 1024);
  EXPECT_EQ(Count(big, "<polyline"), 1);
}

TEST(StatusPageTest, ThePoolPictureStacksWorkersTimesPoolMax) {
  // worker: 2 × 4 = 8 of 17 usable, busy peak 3 (the 3 active ones).
  const TargetReport r = Postgres(Typical(), /*declare=*/true);
  const std::string html = RenderStatusHtml(BuildStatusModel({r}), 5);
  EXPECT_NE(html.find("data-field=\"pool_picture\" data-usable=\"17\" "
                      "data-budget=\"11\""),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("style=\"width:47.06%;"), std::string::npos);
  EXPECT_NE(html.find("data-application=\"worker\" data-declared-max=\"8\" "
                      "data-busy-peak=\"3\""),
            std::string::npos);
  EXPECT_NE(html.find("<span class=\"peak\" style=\"width:37.50%\">"),
            std::string::npos);
  EXPECT_NE(html.find("<span class=\"line\" style=\"left:80.00%\""),
            std::string::npos);
  const std::string json = RenderStatusJson(BuildStatusModel({r}));
  EXPECT_NE(json.find("\"busy_peak_connections\": 3"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"pool_max\": 4"), std::string::npos);
}

}  // namespace
}  // namespace pgconn
