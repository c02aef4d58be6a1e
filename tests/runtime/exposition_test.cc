// The whole exposition of a PostgreSQL target, through the real pipeline:
// collectors' and stages' families, the target status, and the assembly of
// the parts of several targets.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "fakes/activity.h"
#include "fakes/canned_postgres.h"
#include "golden_file.h"
#include "postgres/observations.h"
#include "postgres/registry.h"
#include "runtime/publisher.h"
#include "runtime/target_pipeline.h"

namespace pgconn {
namespace {

TargetConfig Target(const std::string& name) {
  TargetConfig t;
  t.name = name;
  return t;
}

ExportSettings Settings() {
  ExportSettings s;
  s.poll_interval_seconds = 5;
  s.near_limit_threshold = 0.8;
  return s;
}

// A snapshot exercising every family and the awkward label values. The
// collectors that no test here builds by hand are answered from their
// fixture (tests/fixtures/postgres/canned/NAME.tsv).
Snapshot CannedSnapshot() {
  Snapshot snap;
  snap.Put(ConnectionLimits{150020, 100, 3, 0, false});
  Activity a;
  a.groups = {
      Group("worker", "idle", 30, 42.5, 0),
      Group("worker", "active", 20, 0.5, 0.75, 2),
      Group("bot", "idle in transaction", 2, 310, 320),
      Group("(unset)", "idle", 1, 5, 0),
      Group("say \"hi\"\\\n", "active", 1, 0, 1),
      Group("(other)", "unknown", 3, 0, 0),
  };
  a.applications = {{"worker", 10},
                    {"bot", 1},
                    {"(unset)", 1},
                    {"say \"hi\"\\\n", 1},
                    {"(other)", 0}};
  a.folded_applications = 4;
  Summarize(&a);
  snap.Put(std::move(a));
  snap.Put(DatabaseConnections{{{"app", 56, std::nullopt},
                                {"reports", 1, 10},
                                {"postgres", 0, std::nullopt}}});
  snap.Put(UserConnections{
      {{"app", 50, std::nullopt}, {"reporting", 1, 0}, {"bot", 2, 5}}});
  snap.Put(OtherBackends{
      {{"autovacuum worker", 2}, {"walsender", 1}, {"pg_cron scheduler", 1}}});
  // The other collectors: from their canned answers, or for a part of the
  // shared scan without one, from the fake server's answer to the scan.
  const CannedAnswers fixtures = CannedFixtureAnswers();
  CollectorContext ctx;
  for (const CollectorEntry& e : PostgresCollectors()) {
    ctx.collectors.emplace_back(e.name);
  }
  const std::string scan = FindCollectorEntry(PostgresCollectors(), "activity")
                               ->create()
                               ->Statement(ctx);
  std::vector<std::string> scan_parts;
  for (const CollectorEntry& e : PostgresCollectors()) {
    if (e.create()->Statement(ctx) == scan) scan_parts.emplace_back(e.name);
  }
  const auto scan_answer =
      SharedAnswer(CannedPostgresAnswers(100, 30, 20), scan_parts);
  EXPECT_TRUE(scan_answer.ok()) << scan_answer.status().message();
  for (const CollectorEntry& e : PostgresCollectors()) {
    if (snap.Get(e.name) != nullptr || !scan_answer.ok()) continue;
    auto it = fixtures.find(e.name);
    if (it == fixtures.end() && std::find(scan_parts.begin(), scan_parts.end(),
                                          e.name) == scan_parts.end()) {
      ADD_FAILURE() << e.name << ": no canned answer";
      continue;
    }
    auto parsed = it != fixtures.end() ? e.create()->Parse(it->second)
                                       : e.create()->ParseIn(*scan_answer, ctx);
    EXPECT_TRUE(parsed.ok()) << e.name << ": " << parsed.status().message();
    if (parsed.ok()) snap.Put(e.name, std::move(*parsed));
  }
  snap.collectors = {{"settings", true, 0.001, ""},
                     {"activity", false, 0.002, "boom"}};
  return snap;
}

TargetReport MainReport(const TargetPipeline& pipeline) {
  Snapshot snap = CannedSnapshot();
  pipeline.Derive(&snap);
  TargetReport r;
  r.target = "main";
  r.up = true;
  r.snapshot = std::make_shared<const Snapshot>(std::move(snap));
  r.stats.polls_total = 12;
  r.stats.errors_total = {{"connect", 2}, {"too_many_clients", 1}};
  r.stats.last_duration_seconds = 0.0125;
  r.stats.last_success_unix = 1700000000.5;
  r.stats.attempted = true;
  // What a server_log: follower counted: reserved-slot refusals (the
  // guide's scenario), a timeout, authorized connections by application.
  ServerLogCounts log;
  log.up = true;
  log.entries = 1710;
  log.refused = {2, 1644, 0, 0, 3, 0, 0};
  log.terminated = {1, 0, 0};
  log.authorized = {{"worker", 60}, {"(unset)", 1}};
  r.server_log = log;
  return r;
}

std::string Text(const std::vector<ExpositionPart>& parts) {
  std::vector<std::shared_ptr<const ExpositionPart>> shared;
  for (const auto& p : parts) {
    shared.push_back(std::make_shared<const ExpositionPart>(p));
  }
  return AssembleText(shared);
}

std::string MainText(bool up = true) {
  const TargetPipeline pipeline(Target("main"), Settings());
  TargetReport r = MainReport(pipeline);
  r.up = up;
  return Text({pipeline.Render(r)});
}

TEST(ExpositionTest, MatchesGoldenFile) {
  const TargetPipeline main(Target("main"), Settings());
  const TargetPipeline replica(Target("replica"), Settings());
  TargetReport down;
  down.target = "replica";
  down.stats.polls_total = 3;
  down.stats.errors_total = {{"auth", 3}};
  down.stats.attempted = true;
  const std::string text =
      Text({RenderBuildInfo(BuildInfo{"1.2.3", "abc123"}),
            main.Render(MainReport(main)), replica.Render(down)});
  ExpectGolden("postgres.prom", text);
}

TEST(ExpositionTest, EscapesLabelValues) {
  EXPECT_NE(MainText().find("application=\"say \\\"hi\\\"\\\\\\n\""),
            std::string::npos);
}

TEST(ExpositionTest, EveryKnownStateIsEmittedForEveryApplication) {
  std::istringstream in(MainText());
  int samples = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("pgconn_connections{", 0) == 0) ++samples;
  }
  // 5 applications x 6 known states + 1 "unknown" for "(other)".
  EXPECT_EQ(samples, 31);
}

TEST(ExpositionTest, NamesFollowPrometheusConventions) {
  std::istringstream in(MainText());
  std::string family;
  bool helped = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      helped = line.size() > line.find(' ', 7) + 1;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream f(line.substr(7));
      std::string type;
      f >> family >> type;
      EXPECT_EQ(family.rfind("pgconn_", 0), 0u) << family;
      EXPECT_TRUE(helped) << family << " has no HELP";
      helped = false;
      const bool total = family.size() > 6 &&
                         family.compare(family.size() - 6, 6, "_total") == 0;
      EXPECT_EQ(total, type == "counter") << family;
      continue;
    }
    EXPECT_EQ(line.rfind(family + "{target=\"main\"", 0), 0u) << line;
  }
}

TEST(ExpositionTest, ADownTargetKeepsItsLastSnapshot) {
  const std::string text = MainText(false);
  EXPECT_NE(text.find("pgconn_up{target=\"main\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("pgconn_used_connections{target=\"main\"} 57\n"),
            std::string::npos);
}

TEST(ExpositionTest, ASwitchedOffCollectorHasNoFamilies) {
  ExportSettings s = Settings();
  s.collectors["backends"] = false;
  const TargetPipeline pipeline(Target("main"), s);
  const std::string text = Text({pipeline.Render(MainReport(pipeline))});
  EXPECT_EQ(text.find("pgconn_backends"), std::string::npos);
  EXPECT_NE(text.find("pgconn_user_connections"), std::string::npos);
  for (const Collector* c : pipeline.CollectorsFor(150000)) {
    EXPECT_NE(c->name(), "backends");
  }
}

TargetReport Report(const std::string& target, bool up, bool attempted) {
  TargetReport r;
  r.target = target;
  r.up = up;
  r.stats.attempted = attempted;
  return r;
}

TEST(PublisherTest, AssemblesOnDemandAndReportsReadiness) {
  const TargetPipeline a(Target("a"), Settings());
  const TargetPipeline b(Target("b"), Settings());
  Publisher p(RenderBuildInfo(BuildInfo{"v", "r"}));
  p.Publish(Report("a", false, false), a.Render(Report("a", false, false)));
  p.Publish(Report("b", false, false), b.Render(Report("b", false, false)));
  EXPECT_FALSE(p.Ready());
  auto first = p.Current();
  EXPECT_EQ(p.Current().get(), first.get()) << "nothing changed: no rebuild";
  EXPECT_NE(first->text().find("pgconn_up{target=\"a\"} 0"), std::string::npos);
  p.Publish(Report("a", true, true), a.Render(Report("a", true, true)));
  EXPECT_FALSE(p.Ready());
  p.Publish(Report("b", false, true), b.Render(Report("b", false, true)));
  EXPECT_TRUE(p.Ready());
  auto second = p.Current();
  EXPECT_NE(second.get(), first.get());
  EXPECT_NE(second->text().find("pgconn_up{target=\"a\"} 1"),
            std::string::npos);
  // The build info comes first, and each target's samples stay in
  // configuration order under one header.
  EXPECT_EQ(second->text().find("# HELP pgconn_build_info"), 0u);
  EXPECT_LT(second->text().find("pgconn_up{target=\"a\"}"),
            second->text().find("pgconn_up{target=\"b\"}"));
  // The old exposition is untouched: readers holding it see a consistent one.
  EXPECT_NE(first->text().find("pgconn_up{target=\"a\"} 0"), std::string::npos);
  ASSERT_FALSE(second->gzip().empty());
  EXPECT_EQ(static_cast<unsigned char>(second->gzip()[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(second->gzip()[1]), 0x8b);
  ASSERT_EQ(p.Reports().size(), 2u);
  EXPECT_TRUE(p.Reports()[0].up);
}

// A fleet-sized exposition: Refresh() builds it ahead only when a scrape
// came since the last build, and scrapes are served that build meanwhile.
TEST(PublisherTest, ALargeExpositionIsBuiltAheadOnlyAfterAScrape) {
  auto big = [](int value) {
    std::string samples;
    for (int i = 0; samples.size() < Publisher::kLargeBytes; ++i) {
      samples += "pgconn_big{i=\"" + std::to_string(i) + "\"} " +
                 std::to_string(value) + "\n";
    }
    ExpositionPart part;
    part.Add(MakeHead("pgconn_big", "# TYPE pgconn_big gauge\n"), samples);
    return part;
  };
  auto value_of = [](const std::shared_ptr<const Exposition>& e) {
    const std::string line = "pgconn_big{i=\"0\"} ";
    const size_t at = e->text().find(line);
    return at == std::string::npos ? -1 : e->text()[at + line.size()] - '0';
  };
  Publisher p(RenderBuildInfo(BuildInfo{"v", "r"}));
  p.Publish(Report("a", true, true), big(1));
  EXPECT_EQ(p.Refresh(), Publisher::kRefreshPeriod);  // nothing built yet
  const auto first = p.Current();                     // this scrape builds it
  EXPECT_EQ(value_of(first), 1);
  p.Publish(Report("a", true, true), big(2));
  // Nobody asked since that build: nothing is built ahead, and the next
  // scrape is served the last build.
  EXPECT_EQ(p.Refresh(), Publisher::kRefreshPeriod);
  EXPECT_EQ(p.Current().get(), first.get());
  // That scrape came after the build: the refresh builds the new state,
  // gzip included, and scrapes get it.
  p.Refresh();
  const auto second = p.Current();
  EXPECT_NE(second.get(), first.get());
  EXPECT_EQ(value_of(second), 2);
  EXPECT_FALSE(second->gzip_open().bytes.empty());
  // Kept compressed only; the text is given back whole.
  EXPECT_TRUE(second->compressed());
  EXPECT_EQ(second->text().size(), second->size());
  EXPECT_GE(second->size(), Publisher::kLargeBytes);
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

TEST(ExpositionTest, DeclaredPoolsGetTheirFamiliesAndOthersDoNot) {
  TargetConfig declared = Target("main");
  PoolDeclaration worker;
  worker.application = "worker";
  worker.replicas = 10;
  worker.pool_max = 5;
  declared.pools = {worker};
  declared.overhead = 25;
  const TargetPipeline with(declared, Settings());
  const std::string text = Text({with.Render(MainReport(with))});
  // 10 x 5 + 25 + the agent against 97 usable: under the 0.8 line (77).
  EXPECT_NE(text.find("pgconn_pool_budget_connections{target=\"main\"} 76\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pgconn_pool_utilization_ratio{target=\"main\","
                      "application=\"worker\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE pgconn_pool_budget_ratio gauge\n"),
            std::string::npos);

  const TargetPipeline without(Target("main"), Settings());
  EXPECT_EQ(Text({without.Render(MainReport(without))}).find("pgconn_pool_"),
            std::string::npos);
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

TEST(TargetPipelineTest, StampPollDurationReplacesOnlyThatSample) {
  const TargetPipeline pipeline(Target("main"), Settings());
  const TargetReport r = MainReport(pipeline);
  ExpositionPart part = pipeline.Render(r);
  const std::string before = Text({part});
  pipeline.StampPollDuration(0.75, &part);
  const std::string after = Text({part});
  EXPECT_NE(before.find("pgconn_poll_duration_seconds{target=\"main\"} 0.0125"),
            std::string::npos);
  EXPECT_NE(after.find("pgconn_poll_duration_seconds{target=\"main\"} 0.75\n"),
            std::string::npos);
  EXPECT_EQ(after.find("0.0125"), std::string::npos);
  size_t bytes = 0;
  for (const auto& f : part.families)
    bytes += f.header().size() + part.samples(f).size();
  EXPECT_EQ(part.bytes, bytes);
  // Everything else is as rendered.
  std::string restored = after;
  restored.replace(restored.find("} 0.75\n"), 7, "} 0.0125\n");
  EXPECT_EQ(restored, before);
}

}  // namespace
}  // namespace pgconn
