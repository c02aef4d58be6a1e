// The pgconn_pgbouncer_* exposition through the real pipeline, on the
// fixtures of tests/fixtures/pgbouncer/.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <tuple>

#include "collect/collector.h"
#include "golden_file.h"
#include "pgbouncer/pgbouncer.h"
#include "pgbouncer/registry.h"
#include "pgbouncer_fixtures.h"
#include "runtime/target_pipeline.h"

namespace pgconn {
namespace {

using testing::LoadPgBouncerFixture;
using testing::ParseInto;

TargetConfig Bouncer(const std::string& name,
                     TargetKind kind = TargetKind::kPgBouncer) {
  TargetConfig t;
  t.name = name;
  t.kind = kind;
  return t;
}

ExportSettings Settings() {
  ExportSettings s;
  s.poll_interval_seconds = 5;
  return s;
}

// Every PgBouncer collector on the fixtures of `version`, and the signals.
std::shared_ptr<Snapshot> FixtureSnapshot(const std::string& version) {
  auto snap = std::make_shared<Snapshot>();
  const TargetPipeline pipeline(Bouncer("any"), Settings());
  const std::string files[] = {"show_pools", "show_databases",
                               "show_stats_totals", "show_lists",
                               "show_config", "show_clients"};
  size_t i = 0;
  for (const CollectorEntry& e : PgBouncerCollectors()) {
    auto c = e.create();
    const auto start = static_cast<double>(i) / 1000;
    snap->collectors.push_back({std::string(e.name), true, start, ""});
    EXPECT_TRUE(
        ParseInto(*c, LoadPgBouncerFixture(version, files[i++]), snap.get())
            .ok())
        << e.name;
  }
  pipeline.Derive(snap.get());
  return snap;
}

TargetReport BouncerReport(std::string name, bool up,
                           std::shared_ptr<const Snapshot> snap) {
  TargetReport r;
  r.target = std::move(name);
  r.kind = TargetKind::kPgBouncer;
  r.up = up;
  r.snapshot = std::move(snap);
  r.stats.polls_total = 4;
  r.stats.attempted = true;
  r.stats.last_success_unix = up ? 1700000000.25 : 0;
  r.stats.last_duration_seconds = 0.004;
  return r;
}

// Three PgBouncer targets: a 1.24 one that is up, a 1.18 one that went down
// after a successful poll (its last snapshot stays, with up 0), and one
// never reached.
std::vector<TargetReport> GoldenReports() {
  TargetReport old =
      BouncerReport("bouncer-old", false, FixtureSnapshot("1.18"));
  old.stats.errors_total = {{"connect", 3}};
  return {BouncerReport("bouncer", true, FixtureSnapshot("1.24")), old,
          BouncerReport("bouncer-new", false, nullptr)};
}

// The exposition of `reports`, each through a pipeline of its own kind.
std::string Text(const std::vector<TargetReport>& reports,
                 const BuildInfo& build) {
  std::vector<std::shared_ptr<const ExpositionPart>> parts = {
      std::make_shared<const ExpositionPart>(RenderBuildInfo(build))};
  for (const TargetReport& r : reports) {
    const TargetPipeline pipeline(Bouncer(r.target, r.kind), Settings());
    parts.push_back(std::make_shared<const ExpositionPart>(pipeline.Render(r)));
  }
  return AssembleText(parts);
}

TEST(PgBouncerExpositionTest, MatchesGoldenFile) {
  ExpectGolden("pgbouncer.prom",
               Text(GoldenReports(), BuildInfo{"1.2.3", "abc123"}));
}

// Value of one series in the exposition, or NaN when absent.
double Value(const std::string& text, const std::string& name,
             const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string series = name + "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) series += ",";
    series += labels[i].first + "=\"" + labels[i].second + "\"";
  }
  series += "} ";
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series, 0) == 0)
      return std::stod(line.substr(series.size()));
  }
  return std::nan("");
}

TEST(PgBouncerExpositionTest, ExportsTheIssueMetricsWithExactValues) {
  const std::string f = Text(GoldenReports(), BuildInfo{"v", "r"});
  using L = std::vector<std::pair<std::string, std::string>>;
  const L t = {{"target", "bouncer"}};
  const L pool = {
      {"target", "bouncer"}, {"database", "app"}, {"user", "worker"}};
  auto with = [](L l, std::string k, std::string v) {
    l.emplace_back(std::move(k), std::move(v));
    return l;
  };
  const L app = {{"target", "bouncer"}, {"database", "app"}};
  const std::vector<std::tuple<std::string, L, double>> cases = {
      {"pgconn_pgbouncer_up", t, 1},
      {"pgconn_up", t, 1},
      {"pgconn_pgbouncer_clients", with(pool, "state", "waiting"), 25},
      {"pgconn_pgbouncer_clients", with(pool, "state", "waiting_cancel_req"),
       1},
      {"pgconn_pgbouncer_servers", with(pool, "state", "active"), 25},
      {"pgconn_pgbouncer_servers", with(pool, "state", "login"), 0},
      {"pgconn_pgbouncer_max_wait_seconds", pool, 3.25},
      {"pgconn_pgbouncer_server_pool_utilization_ratio", pool, 1.0},
      {"pgconn_pgbouncer_database_pool_size", app, 25},
      {"pgconn_pgbouncer_database_reserve_pool_size", app, 5},
      {"pgconn_pgbouncer_database_server_connections", app, 28},
      {"pgconn_pgbouncer_database_client_connections", app, 53},
      {"pgconn_pgbouncer_database_server_connection_limit",
       {{"target", "bouncer"}, {"database", "shop"}},
       15},
      {"pgconn_pgbouncer_database_paused",
       {{"target", "bouncer"}, {"database", "shop"}},
       1},
      {"pgconn_pgbouncer_max_client_connections", t, 1000},
      {"pgconn_pgbouncer_used_client_connections", t, 67},
      {"pgconn_pgbouncer_client_utilization_ratio", t, 0.067},
      {"pgconn_pgbouncer_logical_connections", t, 64},
      {"pgconn_pgbouncer_physical_connections", t, 39},
      {"pgconn_pgbouncer_waiting_clients", t, 25},
      {"pgconn_pgbouncer_default_pool_size", t, 25},
      {"pgconn_pgbouncer_reserve_pool_size", t, 5},
      {"pgconn_pgbouncer_query_wait_timeout_seconds", t, 120},
      {"pgconn_pgbouncer_pool_mode", with(t, "mode", "transaction"), 1},
      {"pgconn_pgbouncer_pool_mode", with(t, "mode", "session"), 0},
      {"pgconn_pgbouncer_queries_total", app, 480000},
      {"pgconn_pgbouncer_transactions_total", app, 120000},
      {"pgconn_pgbouncer_server_assignments_total", app, 130000},
      {"pgconn_pgbouncer_client_wait_seconds_total", app, 2.5},
      {"pgconn_pgbouncer_query_seconds_total", app, 1800},
      {"pgconn_pgbouncer_transaction_seconds_total", app, 3600},
      {"pgconn_pgbouncer_list_items", with(t, "list", "used_servers"), 39},
      // The down target keeps its last snapshot next to up 0.
      {"pgconn_pgbouncer_up", {{"target", "bouncer-old"}}, 0},
      {"pgconn_pgbouncer_waiting_clients", {{"target", "bouncer-old"}}, 25},
      {"pgconn_pgbouncer_up", {{"target", "bouncer-new"}}, 0},
  };
  for (const auto& [name, labels, want] : cases) {
    EXPECT_DOUBLE_EQ(Value(f, name, labels), want) << name;
  }
  // What 1.18 does not have is absent, not 0.
  for (const char* name : {"pgconn_pgbouncer_server_assignments_total",
                           "pgconn_pgbouncer_database_client_connections"}) {
    EXPECT_TRUE(std::isnan(
        Value(f, name, {{"target", "bouncer-old"}, {"database", "app"}})))
        << name;
  }
  // The admin console's own pool and database are not exported.
  EXPECT_TRUE(
      std::isnan(Value(f, "pgconn_pgbouncer_database_pool_size",
                       {{"target", "bouncer"}, {"database", "pgbouncer"}})));
}

TEST(PgBouncerExpositionTest, KindsDoNotMix) {
  auto snap = FixtureSnapshot("1.24");
  TargetReport pg = BouncerReport("pg", true, snap);
  pg.kind = TargetKind::kPostgres;
  const std::string text =
      Text({pg, BouncerReport("bouncer", true, snap)}, BuildInfo{"v", "r"});
  EXPECT_EQ(text.find("pgconn_pgbouncer_up{target=\"pg\"}"), std::string::npos);
  EXPECT_NE(text.find("pgconn_pgbouncer_up{target=\"bouncer\"} 1"),
            std::string::npos);
  EXPECT_EQ(text.find("pgconn_used_connections{target=\"bouncer\"}"),
            std::string::npos);
  // Agent health covers both kinds.
  EXPECT_NE(text.find("pgconn_up{target=\"pg\"} 1"), std::string::npos);
  EXPECT_NE(text.find("pgconn_up{target=\"bouncer\"} 1"), std::string::npos);
}

TEST(PgBouncerExpositionTest, NamesFollowPrometheusConventions) {
  std::istringstream in(Text(GoldenReports(), BuildInfo{"v", "r"}));
  std::string family, type;
  bool helped = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      helped = true;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream f(line.substr(7));
      f >> family >> type;
      EXPECT_TRUE(helped) << family;
      helped = false;
      const bool total = family.size() > 6 &&
                         family.compare(family.size() - 6, 6, "_total") == 0;
      EXPECT_EQ(total, type == "counter") << family;
      continue;
    }
    if (family == "pgconn_build_info") continue;
    EXPECT_EQ(line.rfind(family + "{target=\"", 0), 0u) << line;
  }
}

}  // namespace
}  // namespace pgconn
