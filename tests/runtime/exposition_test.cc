#include "runtime/exposition.h"

#include <gtest/gtest.h>

#include "fakes/activity.h"
#include "golden_file.h"
#include "pgconn/publisher.h"

namespace pgconn {
namespace {

// A report exercising every family and the awkward label values.
TargetReport CannedReport() {
  auto snap = std::make_shared<Snapshot>();
  PostgresData& pg = snap->postgres;
  pg.server_version_num = 150020;
  pg.limits = {100, 3, 0, false};
  pg.has_limits = true;
  pg.activity = {
      Group("worker", "idle", 30, 42.5, 0),
      Group("worker", "active", 20, 0.5, 0.75, 2),
      Group("bot", "idle in transaction", 2, 310, 320),
      Group("(unset)", "idle", 1, 5, 0),
      Group("say \"hi\"\\\n", "active", 1, 0, 1),
      Group("(other)", "unknown", 3, 0, 0),
  };
  pg.applications = {{"worker", 10},
                     {"bot", 1},
                     {"(unset)", 1},
                     {"say \"hi\"\\\n", 1},
                     {"(other)", 0}};
  pg.folded_applications = 4;
  pg.has_activity = true;
  pg.databases = {{"app", 56, std::nullopt},
                  {"reports", 1, 10},
                  {"postgres", 0, std::nullopt}};
  pg.has_databases = true;
  pg.users = {{"app", 50, std::nullopt}, {"reporting", 1, 0}, {"bot", 2, 5}};
  pg.has_users = true;
  pg.backends = {
      {"autovacuum worker", 2}, {"walsender", 1}, {"pg_cron scheduler", 1}};
  pg.has_backends = true;
  snap->collectors = {{"settings", true, 0.001, ""},
                      {"activity", false, 0.002, "boom"}};

  TargetReport r;
  r.target = "main";
  r.up = true;
  r.snapshot = snap;
  r.stats.polls_total = 12;
  r.stats.errors_total = {{"connect", 2}, {"too_many_clients", 1}};
  r.stats.last_duration_seconds = 0.0125;
  r.stats.last_success_unix = 1700000000.5;
  r.stats.attempted = true;
  r.poll_interval_seconds = 5;
  r.near_limit_threshold = 0.8;
  return r;
}

TEST(ExpositionTest, MatchesGoldenFile) {
  TargetReport down;
  down.target = "replica";
  down.poll_interval_seconds = 5;
  down.stats.polls_total = 3;
  down.stats.errors_total = {{"auth", 3}};
  down.stats.attempted = true;
  const std::string text = SerializeText(BuildMetricFamilies(
      {CannedReport(), down}, BuildInfo{"1.2.3", "abc123"}));
  ExpectGolden("postgres.prom", text);
}

TEST(ExpositionTest, EscapesLabelValues) {
  const std::string text =
      SerializeText(BuildMetricFamilies({CannedReport()}, BuildInfo{"v", "r"}));
  EXPECT_NE(text.find("application=\"say \\\"hi\\\"\\\\\\n\""),
            std::string::npos)
      << text;
}

TEST(ExpositionTest, EveryKnownStateIsEmittedForEveryApplication) {
  const auto families =
      BuildMetricFamilies({CannedReport()}, BuildInfo{"v", "r"});
  for (const auto& f : families) {
    if (f.name != "pgconn_connections") continue;
    // 5 applications x 6 known states + 1 "unknown" for "(other)".
    EXPECT_EQ(f.metric.size(), 31u);
    return;
  }
  FAIL() << "pgconn_connections missing";
}

TEST(ExpositionTest, NamesFollowPrometheusConventions) {
  const auto families =
      BuildMetricFamilies({CannedReport()}, BuildInfo{"v", "r"});
  for (const auto& f : families) {
    EXPECT_EQ(f.name.rfind("pgconn_", 0), 0u) << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
    const bool total = f.name.size() > 6 &&
                       f.name.compare(f.name.size() - 6, 6, "_total") == 0;
    EXPECT_EQ(total, f.type == prometheus::MetricType::Counter) << f.name;
    for (const auto& m : f.metric) {
      if (f.name == "pgconn_build_info") continue;
      ASSERT_FALSE(m.label.empty()) << f.name;
      EXPECT_EQ(m.label[0].name, "target") << f.name;
    }
  }
}

TEST(ExpositionTest, ADownTargetKeepsItsLastSnapshot) {
  TargetReport r = CannedReport();
  r.up = false;
  const std::string text =
      SerializeText(BuildMetricFamilies({r}, BuildInfo{"v", "r"}));
  EXPECT_NE(text.find("pgconn_up{target=\"main\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("pgconn_used_connections{target=\"main\"} 57\n"),
            std::string::npos);
}

TEST(PublisherTest, RebuildsOnPublishAndReportsReadiness) {
  TargetReport a;
  a.target = "a";
  TargetReport b;
  b.target = "b";
  Publisher p({a, b}, BuildInfo{"v", "r"});
  EXPECT_FALSE(p.Ready());
  auto first = p.Current();
  EXPECT_NE(first->text.find("pgconn_up{target=\"a\"} 0"), std::string::npos);
  a.up = true;
  a.stats.attempted = true;
  p.Publish(a);
  EXPECT_FALSE(p.Ready());
  b.stats.attempted = true;
  p.Publish(b);
  EXPECT_TRUE(p.Ready());
  auto second = p.Current();
  EXPECT_NE(second.get(), first.get());
  EXPECT_NE(second->text.find("pgconn_up{target=\"a\"} 1"), std::string::npos);
  // The old exposition is untouched: readers holding it see a consistent one.
  EXPECT_NE(first->text.find("pgconn_up{target=\"a\"} 0"), std::string::npos);
  EXPECT_FALSE(second->gzip.empty());
  EXPECT_EQ(static_cast<unsigned char>(second->gzip[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(second->gzip[1]), 0x8b);
}

}  // namespace
}  // namespace pgconn
