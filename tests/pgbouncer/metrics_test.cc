// The PgBouncer signals and the pgconn_pgbouncer_* exposition, on the
// fixtures of tests/fixtures/pgbouncer/ and on hand-made edge cases.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "collect/collector.h"
#include "golden_file.h"
#include "pgbouncer/pgbouncer.h"
#include "pgbouncer/registry.h"
#include "pgbouncer_fixtures.h"
#include "postgres/registry.h"
#include "runtime/exposition.h"

namespace pgconn {
namespace {

using testing::LoadPgBouncerFixture;

// Every PgBouncer collector on the fixtures of `version`.
std::shared_ptr<Snapshot> FixtureSnapshot(const std::string& version) {
  auto snap = std::make_shared<Snapshot>();
  const std::string files[] = {"show_pools", "show_databases",
                               "show_stats_totals", "show_lists",
                               "show_config"};
  size_t i = 0;
  for (const CollectorEntry& e : PgBouncerCollectors()) {
    auto c = e.create();
    const auto start = static_cast<double>(i) / 1000;
    snap->collectors.push_back({std::string(e.name), true, start, ""});
    EXPECT_TRUE(
        c->Parse(LoadPgBouncerFixture(version, files[i++]), snap.get()).ok())
        << e.name;
  }
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
  r.poll_interval_seconds = 5;
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

TEST(PgBouncerExpositionTest, MatchesGoldenFile) {
  ExpectGolden("pgbouncer.prom",
               SerializeText(BuildMetricFamilies(
                   GoldenReports(), BuildInfo{"1.2.3", "abc123"})));
}

// Value of one series in the exposition, or NaN when absent.
double Value(const std::vector<prometheus::MetricFamily>& families,
             const std::string& name,
             const std::vector<std::pair<std::string, std::string>>& labels) {
  for (const auto& f : families) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      std::vector<std::pair<std::string, std::string>> got;
      for (const auto& l : m.label) got.emplace_back(l.name, l.value);
      if (got != labels) continue;
      return f.type == prometheus::MetricType::Counter ? m.counter.value
                                                       : m.gauge.value;
    }
  }
  return std::nan("");
}

TEST(PgBouncerExpositionTest, ExportsTheIssueMetricsWithExactValues) {
  const auto f = BuildMetricFamilies(GoldenReports(), BuildInfo{"v", "r"});
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
  const std::string text = SerializeText(BuildMetricFamilies(
      {pg, BouncerReport("bouncer", true, snap)}, BuildInfo{"v", "r"}));
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
  for (const auto& f :
       BuildMetricFamilies(GoldenReports(), BuildInfo{"v", "r"})) {
    if (f.name.rfind("pgconn_pgbouncer_", 0) != 0) continue;
    EXPECT_FALSE(f.help.empty()) << f.name;
    const bool total = f.name.size() > 6 &&
                       f.name.compare(f.name.size() - 6, 6, "_total") == 0;
    EXPECT_EQ(total, f.type == prometheus::MetricType::Counter) << f.name;
    for (const auto& m : f.metric) {
      ASSERT_FALSE(m.label.empty()) << f.name;
      EXPECT_EQ(m.label[0].name, "target") << f.name;
    }
  }
}

PgBouncerPool Pool(std::string db, std::map<std::string, int64_t> clients,
                   std::map<std::string, int64_t> servers) {
  PgBouncerPool p;
  p.database = std::move(db);
  p.user = "u";
  p.clients = std::move(clients);
  p.servers = std::move(servers);
  return p;
}

struct SignalCase {
  std::string name;
  PgBouncerData data;
  int64_t logical, physical, waiting;
  std::optional<int64_t> pool_size;
  std::optional<double> server_utilization;
  std::optional<double> client_utilization;
};

TEST(PgBouncerSignalsTest, DerivesExhaustionSaturationAndLimits) {
  PgBouncerData guide;  // the guide: 10 workers x 5 through a pool of 25
  guide.pools = {Pool("app", {{"active", 25}, {"waiting", 25}},
                      {{"active", 25}, {"idle", 0}})};
  guide.databases = {{"app", 25, 0, 0, 25, {}, {}, false, false}};
  guide.has_pools = guide.has_databases = true;
  guide.lists = {{"used_clients", 51}};
  guide.has_lists = true;
  guide.config.max_client_conn = 1000;
  guide.config.default_pool_size = 20;
  guide.has_config = true;

  PgBouncerData reserve = guide;  // reserve pool engaged: 27 of 25
  reserve.pools[0].servers = {{"active", 26}, {"being_canceled", 1}};

  PgBouncerData no_db_row = guide;  // falls back to default_pool_size
  no_db_row.databases.clear();
  no_db_row.pools[0].servers = {
      {"active", 5}, {"active_cancel", 1}, {"idle", 3}, {"tested", 1}};

  PgBouncerData nothing_known;  // no databases, no config, no lists
  nothing_known.pools = {Pool("app", {{"active", 1}}, {{"idle", 1}})};
  nothing_known.has_pools = true;

  PgBouncerData zero_pool = guide;  // pool_size 0: no ratio, no division
  zero_pool.databases[0].pool_size = 0;
  zero_pool.config.max_client_conn = 0;

  const std::vector<SignalCase> cases = {
      {"guide", guide, 50, 25, 25, 25, 1.0, 0.051},
      {"reserve", reserve, 50, 27, 25, 25, 27.0 / 25, 0.051},
      {"no database row", no_db_row, 50, 10, 25, 20, 6.0 / 20, 0.051},
      {"nothing known", nothing_known, 1, 1, 0, std::nullopt, std::nullopt,
       std::nullopt},
      {"zero pool size", zero_pool, 50, 25, 25, 0, std::nullopt, std::nullopt},
  };
  for (const SignalCase& c : cases) {
    const PgBouncerSignals s = DerivePgBouncerSignals(c.data);
    EXPECT_EQ(s.logical_connections, c.logical) << c.name;
    EXPECT_EQ(s.physical_connections, c.physical) << c.name;
    EXPECT_EQ(s.waiting_clients, c.waiting) << c.name;
    ASSERT_EQ(s.pools.size(), 1u) << c.name;
    EXPECT_EQ(s.pools[0].pool_size, c.pool_size) << c.name;
    EXPECT_EQ(s.pools[0].server_utilization, c.server_utilization) << c.name;
    EXPECT_EQ(s.client_utilization, c.client_utilization) << c.name;
  }
}

}  // namespace
}  // namespace pgconn
