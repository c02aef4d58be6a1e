// The live status page (/ and /api/v1/status) built from reports that went
// through the real pipeline's signal stages.
#include "runtime/status_page.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "fakes/activity.h"
#include "fakes/fake_clock.h"
#include "golden_file.h"
#include "pgbouncer/pgbouncer.h"
#include "postgres/observations.h"
#include "runtime/publisher.h"
#include "runtime/status_page_assets.h"
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

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
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
  const auto json = nlohmann::json::parse(page->json());
  const auto& peak = json["targets"][0]["peak"];
  EXPECT_EQ(peak["used_connections"], 10) << page->json();
  EXPECT_DOUBLE_EQ(peak["utilization_ratio"].get<double>(), 10.0 / 17);
  EXPECT_EQ(peak["window_seconds"], 60);
  EXPECT_EQ(json["targets"][0]["connections"]["used_connections"], 4);
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

// The page draws client-chosen names (application, database, user, target)
// as text: its script builds elements and sets text and attributes, and
// never hands data to an HTML parser (tests/integration/
// status_page_browser_test.cc renders a hostile name in Chromium).
TEST(StatusPageTest, TheScriptNeverParsesDataAsHtml) {
  const std::string script(StatusPageScript());
  for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML",
                           "document.write", "eval(", "Function(",
                           "createContextualFragment", "DOMParser", "srcdoc"}) {
    EXPECT_EQ(script.find(sink), std::string::npos) << sink;
  }
  EXPECT_NE(script.find("createElement("), std::string::npos);
  EXPECT_NE(script.find("setAttribute("), std::string::npos);
  // It refuses event handler and style attributes whatever their value.
  EXPECT_NE(script.find("/^on/i.test(name)"), std::string::npos);
}

TEST(StatusPageTest, HostileApplicationNameIsAStringInJson) {
  auto page = BuildStatusPage({Postgres(Typical())}, 5);
  EXPECT_NE(page->json().find("\"application\": \"<img src=x "
                              "onerror=alert(1)>\""),
            std::string::npos)
      << page->json();
}

// Every URL the page loads is its own: the style, the script and the JSON
// (no inline script, no inline style, nothing from another host).
TEST(StatusPageTest, PageIsStaticSelfContainedAndSmall) {
  auto page = BuildStatusPage({Postgres(Typical(), true), Bouncer(3)}, 7);
  std::vector<std::string> paths;
  size_t bytes = 0;
  for (const StatusPage::Asset& a : page->assets()) {
    paths.emplace_back(a.path);
    bytes += a.body.size();
  }
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/", "/status.css", "/status.js"}));
  const std::string html(page->Find("/")->body);
  EXPECT_EQ(page->Find("/")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(page->Find("/status.js")->content_type,
            "text/javascript; charset=utf-8");
  EXPECT_EQ(page->Find("/status.css")->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(page->Find("/status.html"), nullptr);
  EXPECT_NE(html.find("<link rel=\"stylesheet\" href=\"/status.css\">"),
            std::string::npos);
  EXPECT_NE(html.find("<script src=\"/status.js\" defer></script>"),
            std::string::npos);
  EXPECT_EQ(Count(html, "<script"), 1);
  EXPECT_EQ(Count(html, "<link"), 1);
  EXPECT_EQ(html.find("style"), html.find("stylesheet"));
  // No event handler attribute (onload= and the like).
  EXPECT_FALSE(std::regex_search(html, std::regex("\\son[a-z]+\\s*=")));
  for (const StatusPage::Asset& a : page->assets()) {
    const std::string body(a.body);
    EXPECT_EQ(body.find("url("), std::string::npos) << a.path;
    EXPECT_EQ(body.find("@import"), std::string::npos) << a.path;
    // The one absolute URL is the SVG namespace, which nothing fetches.
    EXPECT_EQ(Count(body, "http://") + Count(body, "https://"),
              Count(body, "'http://www.w3.org/2000/svg'"))
        << a.path;
  }
  const std::string script(page->Find("/status.js")->body);
  EXPECT_NE(script.find("fetch('/api/v1/status'"), std::string::npos);
  // Small: the three files together, and the JSON of two targets.
  EXPECT_LT(bytes, 24u * 1024) << bytes;
  EXPECT_LT(page->json().size(), 8u * 1024);
  // The page refreshes as often as the JSON says; each warning sign has
  // its runbook's URL.
  const auto json = nlohmann::json::parse(page->json());
  EXPECT_EQ(json["refresh_seconds"], 7);
  EXPECT_EQ(json["targets"][1]["warnings"][0]["runbook_url"],
            "https://github.com/pgconn/pgconn/blob/main/docs/runbooks/"
            "PgconnPgbouncerClientsWaiting.md");
}

TEST(StatusPageTest, MatchesGoldenFiles) {
  auto page = BuildStatusPage({Postgres(Typical(), true), Bouncer(3)}, 5);
  ExpectGolden("status_page.json", page->json());
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

TEST(StatusPageTest, TheLastHourIsAChartWithGapsAndTenSecondPoints) {
  std::vector<UsedSample> h;
  const int64_t t0 = 1'700'000'000'000;
  // A minute at one poll a second, used 1..60; 30 s without a poll; 20 s.
  for (int i = 0; i < 60; ++i) h.push_back({t0 + i * 1000, i + 1});
  for (int i = 0; i < 20; ++i) h.push_back({t0 + 90'000 + i * 1000, 5});
  const std::string text =
      RenderStatusJson(BuildStatusModel({WithHistory(h)}), 5);
  const auto history =
      nlohmann::json::parse(text)["targets"][0]["used_history"];
  // Every sample, the highest (the latest of equals) and the chart's runs:
  // the 30 s gap breaks the line.
  EXPECT_EQ(history["samples"].size(), 80u);
  EXPECT_EQ(Count(text, "1700000"), 80 + 1 + 8 + 1)
      << text;  // + highest + 8 chart points + last_success
  EXPECT_EQ(history["highest"], nlohmann::json::parse("[1700000059000, 60]"));
  ASSERT_EQ(history["chart"].size(), 2u) << text;
  // One point per 10 s bucket, the bucket's highest (the latest of
  // equals): 6, then 2 for the 20 s.
  EXPECT_EQ(history["chart"][0],
            nlohmann::json::parse(
                "[[1700000009000, 10], [1700000019000, 20], [1700000029000, "
                "30], [1700000039000, 40], [1700000049000, 50], "
                "[1700000059000, 60]]"));
  EXPECT_EQ(history["chart"][1],
            nlohmann::json::parse("[[1700000099000, 5], [1700000109000, 5]]"));
  // An hour at one poll a second: one run of 360 points.
  std::vector<UsedSample> hour;
  for (int i = 0; i < 3600; ++i) hour.push_back({t0 + i * 1000, i % 17});
  const auto big = nlohmann::json::parse(
      RenderStatusJson(BuildStatusModel({WithHistory(hour)}), 5));
  const auto& chart = big["targets"][0]["used_history"]["chart"];
  ASSERT_EQ(chart.size(), 1u);
  EXPECT_EQ(chart[0].size(), 360u);
  // No poll yet: no highest, no line.
  const auto empty = nlohmann::json::parse(
      RenderStatusJson(BuildStatusModel({WithHistory({})}), 5));
  EXPECT_TRUE(empty["targets"][0]["used_history"]["highest"].is_null());
  EXPECT_EQ(empty["targets"][0]["used_history"]["chart"].size(), 0u);
}

TEST(StatusPageTest, ThePoolPictureHasWorkersTimesPoolMaxAndTheBusyPeak) {
  // worker: 2 × 4 = 8 of 17 usable, busy peak 3 (the 3 active ones), with
  // the overhead 2 and pgconn's own slot: a budget of 11.
  const TargetReport r = Postgres(Typical(), /*declare=*/true);
  const std::string text = RenderStatusJson(BuildStatusModel({r}), 5);
  const auto pools = nlohmann::json::parse(text)["targets"][0]["pools"];
  EXPECT_EQ(pools["budget_connections"], 11) << text;
  EXPECT_EQ(pools["overhead_connections"], 2);
  EXPECT_EQ(pools["monitoring_agents"], 1);
  const auto& worker = pools["declared"][0];
  EXPECT_EQ(worker["application"], "worker");
  EXPECT_EQ(worker["replicas"], 2);
  EXPECT_EQ(worker["pool_max"], 4);
  EXPECT_EQ(worker["declared_max_connections"], 8);
  EXPECT_EQ(worker["busy_peak_connections"], 3);
}

}  // namespace
}  // namespace pgconn
