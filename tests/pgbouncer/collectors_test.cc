// The PgBouncer collectors on canned admin-console answers of several
// PgBouncer versions (tests/fixtures/pgbouncer/).
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <ostream>
#include <set>

#include "collect/collector.h"
#include "pgbouncer/pgbouncer.h"
#include "pgbouncer/registry.h"
#include "pgbouncer/signals.h"
#include "pgbouncer_fixtures.h"

namespace pgconn {
namespace {

using testing::BouncerView;
using testing::LoadPgBouncerFixture;
using testing::ParseInto;
using testing::SnapshotOf;
using testing::View;

std::optional<std::string> S(const char* s) { return std::string(s); }
const std::optional<std::string> kNull = std::nullopt;

std::unique_ptr<Collector> Make(std::string_view name) {
  for (const CollectorEntry& e : PgBouncerCollectors()) {
    if (e.name == name) return e.create();
  }
  return nullptr;
}

// Parses `fixture` of `version` with collector `name` into `snap`.
Status ParseFixture(std::string_view name, const std::string& version,
                    const std::string& fixture, Snapshot* snap) {
  auto c = Make(name);
  if (c == nullptr) return Status::Internal("no collector");
  return ParseInto(*c, LoadPgBouncerFixture(version, fixture), snap);
}

// Every collector on every fixture of `version`.
Snapshot ParseVersion(const std::string& version) {
  Snapshot snap;
  const std::pair<std::string_view, std::string> kFiles[] = {
      {"pgbouncer_pools", "show_pools"},
      {"pgbouncer_databases", "show_databases"},
      {"pgbouncer_stats", "show_stats_totals"},
      {"pgbouncer_lists", "show_lists"},
      {"pgbouncer_config", "show_config"},
  };
  for (const auto& [collector, file] : kFiles) {
    Status s = ParseFixture(collector, version, file, &snap);
    EXPECT_TRUE(s.ok()) << version << "/" << file << ": " << s.message();
  }
  return snap;
}

const PgBouncerPool* FindPool(const BouncerView& b, std::string_view db,
                              std::string_view user) {
  for (const auto& p : b.pools) {
    if (p.database == db && p.user == user) return &p;
  }
  return nullptr;
}

const PgBouncerDatabase* FindDatabase(const BouncerView& b,
                                      std::string_view name) {
  for (const auto& d : b.databases) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

const PgBouncerStats* FindStats(const BouncerView& b, std::string_view db) {
  for (const auto& s : b.stats) {
    if (s.database == db) return &s;
  }
  return nullptr;
}

using States = std::map<std::string, int64_t>;

TEST(PgBouncerCollectorsTest, TableHasOneAdminCommandPerCollector) {
  const std::vector<std::pair<std::string, std::string>> want = {
      {"pgbouncer_pools", "SHOW POOLS"},
      {"pgbouncer_databases", "SHOW DATABASES"},
      {"pgbouncer_stats", "SHOW STATS_TOTALS"},
      {"pgbouncer_lists", "SHOW LISTS"},
      {"pgbouncer_config", "SHOW CONFIG"},
      {"pgbouncer_clients", "SHOW CLIENTS"},
  };
  CollectorContext ctx;
  ctx.server_version_num = 11800;
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& c : EnabledCollectors(PgBouncerCollectors(), {})) {
    got.emplace_back(std::string(c->name()), c->Statement(ctx));
  }
  EXPECT_EQ(got, want);
  for (const CollectorEntry& e : PgBouncerCollectors()) {
    EXPECT_EQ(e.create()->name(), e.name);
    EXPECT_TRUE(e.enabled_by_default) << e.name;
    EXPECT_FALSE(e.help.empty()) << e.name;
  }
}

TEST(PgBouncerStatsCollectorTest, AsksForStatsTotalsFromVersion1Point8) {
  const std::vector<std::pair<int, std::string>> cases = {
      {0, "SHOW STATS"},             // not known: the command every version has
      {10702, "SHOW STATS"},         // 1.7.2
      {10800, "SHOW STATS_TOTALS"},  // 1.8.0
      {11800, "SHOW STATS_TOTALS"},  // 1.18.0, Debian 12
      {12401, "SHOW STATS_TOTALS"},  // 1.24.1
  };
  auto c = Make("pgbouncer_stats");
  for (const auto& [version, statement] : cases) {
    CollectorContext ctx;
    ctx.server_version_num = version;
    EXPECT_EQ(c->Statement(ctx), statement) << version;
  }
}

// The same PgBouncer as seen by every version from 1.18 (Debian 12) to
// 1.25: the same numbers, exactly the optional columns each version has,
// and no expected column reported missing.
struct VersionCase {
  std::string version;
  bool has_server_assignments;  // 1.23+
  bool has_client_connections;  // 1.24+ (SHOW DATABASES)
  bool has_peers;               // 1.19+ (SHOW LISTS)
};

// Names the case in test listings instead of dumping its bytes.
void PrintTo(const VersionCase& v, std::ostream* os) {
  *os << "PgBouncer " << v.version;
}

class PgBouncerVersionTest : public ::testing::TestWithParam<VersionCase> {};

TEST_P(PgBouncerVersionTest, ParsesEveryCommand) {
  const VersionCase& v = GetParam();
  const Snapshot snap = ParseVersion(v.version);
  const BouncerView& b = View(snap);
  EXPECT_TRUE(b.has_pools && b.has_databases && b.has_stats && b.has_lists &&
              b.has_config);
  for (const PgBouncerMissingColumns* m :
       std::initializer_list<const PgBouncerMissingColumns*>{
           snap.Find<PgBouncerPools>(), snap.Find<PgBouncerDatabases>(),
           snap.Find<PgBouncerStatsTotals>(), snap.Find<PgBouncerLists>(),
           snap.Find<PgBouncerConfig>()}) {
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(m->missing_columns.empty())
        << v.version << ": " << m->missing_columns.front();
  }

  // SHOW POOLS: the admin console's pool is left out.
  ASSERT_EQ(b.pools.size(), 3u);
  EXPECT_EQ(FindPool(b, "pgbouncer", "pgbouncer"), nullptr);
  const PgBouncerPool* worker = FindPool(b, "app", "worker");
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->clients, (States{{"active", 25},
                                     {"waiting", 25},
                                     {"active_cancel_req", 0},
                                     {"waiting_cancel_req", 1}}));
  EXPECT_EQ(worker->servers, (States{{"active", 25},
                                     {"active_cancel", 0},
                                     {"being_canceled", 0},
                                     {"idle", 0},
                                     {"used", 0},
                                     {"tested", 0},
                                     {"login", 0}}));
  EXPECT_DOUBLE_EQ(worker->max_wait_seconds, 3.25);
  const PgBouncerPool* shop = FindPool(b, "shop", "worker");
  ASSERT_NE(shop, nullptr);
  EXPECT_EQ(shop->servers, (States{{"active", 3},
                                   {"active_cancel", 1},
                                   {"being_canceled", 0},
                                   {"idle", 4},
                                   {"used", 1},
                                   {"tested", 1},
                                   {"login", 1}}));
  // maxwait_us alone: 42 microseconds, not rounded down to 0.
  EXPECT_DOUBLE_EQ(shop->max_wait_seconds, 0.000042);

  // SHOW DATABASES: reserve_pool and reserve_pool_size are one value.
  ASSERT_EQ(b.databases.size(), 2u);
  const PgBouncerDatabase* app = FindDatabase(b, "app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->pool_size, 25);
  EXPECT_EQ(app->reserve_pool_size, 5);
  EXPECT_EQ(app->max_connections, 0);
  EXPECT_EQ(app->current_connections, 28);
  EXPECT_EQ(app->paused, false);
  EXPECT_EQ(app->disabled, false);
  const PgBouncerDatabase* shop_db = FindDatabase(b, "shop");
  ASSERT_NE(shop_db, nullptr);
  EXPECT_EQ(shop_db->pool_size, 20);
  EXPECT_EQ(shop_db->reserve_pool_size, 0);
  EXPECT_EQ(shop_db->max_connections, 15);
  EXPECT_EQ(shop_db->current_connections, 11);
  EXPECT_EQ(shop_db->paused, true);
  if (v.has_client_connections) {
    EXPECT_EQ(app->current_client_connections, 53);
    EXPECT_EQ(app->max_client_connections, 0);
    EXPECT_EQ(shop_db->current_client_connections, 11);
    EXPECT_EQ(shop_db->max_client_connections, 100);
  } else {
    EXPECT_EQ(app->current_client_connections, std::nullopt);
    EXPECT_EQ(app->max_client_connections, std::nullopt);
  }

  // SHOW STATS_TOTALS: microseconds become seconds.
  ASSERT_EQ(b.stats.size(), 2u);
  const PgBouncerStats* st = FindStats(b, "app");
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->transactions, 120000);
  EXPECT_EQ(st->queries, 480000);
  EXPECT_EQ(st->received_bytes, 98765432);
  EXPECT_EQ(st->sent_bytes, 123456789);
  EXPECT_EQ(st->transaction_seconds, 3600);
  EXPECT_EQ(st->query_seconds, 1800);
  EXPECT_EQ(st->client_wait_seconds, 2.5);
  EXPECT_EQ(FindStats(b, "shop")->client_wait_seconds, 1e-6);
  EXPECT_EQ(st->server_assignments, v.has_server_assignments
                                        ? std::optional<double>(130000)
                                        : std::nullopt);

  // SHOW LISTS.
  EXPECT_EQ(b.lists.at("used_clients"), 67);
  EXPECT_EQ(b.lists.at("login_clients"), 2);
  EXPECT_EQ(b.lists.count("peers"), v.has_peers ? 1u : 0u);
  EXPECT_EQ(b.lists.size(), v.has_peers ? 14u : 12u);

  // SHOW CONFIG.
  EXPECT_EQ(b.config.max_client_conn, 1000);
  EXPECT_EQ(b.config.default_pool_size, 25);
  EXPECT_EQ(b.config.reserve_pool_size, 5);
  EXPECT_EQ(b.config.max_db_connections, 0);
  EXPECT_EQ(b.config.max_user_connections, 0);
  EXPECT_EQ(b.config.query_wait_timeout_seconds, 120);
  EXPECT_EQ(b.config.pool_mode, "transaction");

  // The derived signals agree across versions.
  const auto* pools = snap.Find<PgBouncerPools>();
  ASSERT_NE(pools, nullptr);
  EXPECT_EQ(pools->logical_connections, 64);   // 51 + 2 + 11
  EXPECT_EQ(pools->physical_connections, 39);  // 25 + 3 + 11
  EXPECT_EQ(pools->waiting_clients, 25);
  const PgBouncerSignals sig = DerivePgBouncerSignals(
      pools, snap.Find<PgBouncerDatabases>(), snap.Find<PgBouncerLists>(),
      snap.Find<PgBouncerConfig>());
  EXPECT_EQ(sig.used_clients, 67);
  EXPECT_DOUBLE_EQ(*sig.client_utilization, 0.067);
}

INSTANTIATE_TEST_SUITE_P(
    Versions, PgBouncerVersionTest,
    ::testing::Values(VersionCase{"1.18", false, false, false},
                      VersionCase{"1.19", false, false, true},
                      VersionCase{"1.20", false, false, true},
                      VersionCase{"1.21", false, false, true},
                      VersionCase{"1.22", false, false, true},
                      VersionCase{"1.23", true, false, true},
                      VersionCase{"1.24", true, true, true},
                      VersionCase{"1.25", true, true, true}),
    [](const ::testing::TestParamInfo<VersionCase>& param) {
      std::string name = "PgBouncer" + param.param.version;
      std::replace(name.begin(), name.end(), '.', '_');
      return name;
    });

TEST(PgBouncerPoolsCollectorTest, ReadsTheSingleCancelColumnOf1Point17) {
  Snapshot snap;
  ASSERT_TRUE(
      ParseFixture("pgbouncer_pools", "1.17", "show_pools", &snap).ok());
  ASSERT_EQ(View(snap).pools.size(), 1u);
  const PgBouncerPool p = View(snap).pools[0];
  // cl_cancel_req meant what 1.18 calls cl_waiting_cancel_req; the states
  // 1.17 did not have are not reported rather than reported as 0.
  EXPECT_EQ(
      p.clients,
      (States{{"active", 25}, {"waiting", 25}, {"waiting_cancel_req", 1}}));
  EXPECT_EQ(p.servers, (States{{"active", 25},
                               {"idle", 0},
                               {"used", 0},
                               {"tested", 0},
                               {"login", 0}}));
  EXPECT_DOUBLE_EQ(p.max_wait_seconds, 3.25);
}

TEST(PgBouncerPoolsCollectorTest, MaxWaitWithoutMicrosecondsIsWholeSeconds) {
  Snapshot snap;
  ResultSet rs({"database", "user", "cl_active", "cl_waiting", "sv_active",
                "sv_idle", "maxwait"},
               {{S("app"), S("w"), S("1"), S("2"), S("1"), S("0"), S("7")}});
  ASSERT_TRUE(ParseInto(*Make("pgbouncer_pools"), rs, &snap).ok());
  EXPECT_EQ(View(snap).pools[0].max_wait_seconds, 7);
}

TEST(PgBouncerPoolsCollectorTest, MatchesColumnsByNameNotPosition) {
  const ResultSet original = LoadPgBouncerFixture("1.24", "show_pools");
  // Reverse the columns (and every row with them) and add unknown ones.
  std::vector<std::string> cols = original.columns();
  std::reverse(cols.begin(), cols.end());
  cols.insert(cols.begin(), "a_future_column");
  cols.push_back("another_one");
  ResultSet shuffled(cols, {});
  for (ResultSet::Row row : original.rows()) {
    std::reverse(row.begin(), row.end());
    row.insert(row.begin(), S("x"));
    row.push_back(kNull);
    shuffled.AddRow(std::move(row));
  }
  Snapshot a, b;
  ASSERT_TRUE(ParseInto(*Make("pgbouncer_pools"), original, &a).ok());
  ASSERT_TRUE(ParseInto(*Make("pgbouncer_pools"), shuffled, &b).ok());
  ASSERT_EQ(View(a).pools.size(), View(b).pools.size());
  for (size_t i = 0; i < View(a).pools.size(); ++i) {
    EXPECT_EQ(View(a).pools[i].database, View(b).pools[i].database);
    EXPECT_EQ(View(a).pools[i].clients, View(b).pools[i].clients);
    EXPECT_EQ(View(a).pools[i].servers, View(b).pools[i].servers);
    EXPECT_EQ(View(a).pools[i].max_wait_seconds,
              View(b).pools[i].max_wait_seconds);
  }
}

TEST_P(PgBouncerVersionTest, ShowStatsGivesTheSameTotals) {
  // SHOW STATS spells the totals total_*; the parser takes both.
  const std::string& version = GetParam().version;
  Snapshot totals, stats;
  ASSERT_TRUE(
      ParseFixture("pgbouncer_stats", version, "show_stats_totals", &totals)
          .ok());
  ASSERT_TRUE(
      ParseFixture("pgbouncer_stats", version, "show_stats", &stats).ok());
  ASSERT_EQ(View(stats).stats.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const PgBouncerStats a = View(totals).stats[i];
    const PgBouncerStats b = View(stats).stats[i];
    EXPECT_EQ(a.database, b.database);
    EXPECT_EQ(a.transactions, b.transactions);
    EXPECT_EQ(a.queries, b.queries);
    EXPECT_EQ(a.received_bytes, b.received_bytes);
    EXPECT_EQ(a.sent_bytes, b.sent_bytes);
    EXPECT_EQ(a.transaction_seconds, b.transaction_seconds);
    EXPECT_EQ(a.query_seconds, b.query_seconds);
    EXPECT_EQ(a.client_wait_seconds, b.client_wait_seconds);
    EXPECT_EQ(a.server_assignments, b.server_assignments);
  }
  EXPECT_TRUE(View(stats).stats.size() == 2 &&
              stats.Find<PgBouncerStatsTotals>()->missing_columns.empty());
}

// SHOW SERVERS of each version describes the same server connections as
// its SHOW POOLS: one row per sv_* count, in the state SHOW SERVERS calls
// it ("new" for sv_login). The fixtures are one PgBouncer, and the state
// names the docs map are the ones PgBouncer prints.
TEST_P(PgBouncerVersionTest, ShowServersMatchesShowPools) {
  const std::string& version = GetParam().version;
  const ResultSet servers = LoadPgBouncerFixture(version, "show_servers");
  const int c_db = servers.ColumnIndex({"database"});
  const int c_user = servers.ColumnIndex({"user"});
  const int c_state = servers.ColumnIndex({"state"});
  ASSERT_TRUE(c_db >= 0 && c_user >= 0 && c_state >= 0);
  std::map<std::string, int64_t> rows;
  for (const auto& row : servers.rows()) {
    std::string state = CellText(row, c_state);
    if (state == "new") state = "login";
    ++rows[CellText(row, c_db) + "/" + CellText(row, c_user) + "/" + state];
  }
  Snapshot snap;
  ASSERT_TRUE(
      ParseFixture("pgbouncer_pools", version, "show_pools", &snap).ok());
  std::map<std::string, int64_t> pools;
  for (const PgBouncerPool& p : View(snap).pools) {
    for (const auto& [state, n] : p.servers) {
      if (n > 0) pools[p.database + "/" + p.user + "/" + state] = n;
    }
  }
  EXPECT_EQ(rows, pools);
  EXPECT_EQ(servers.size(), 39u);  // physical_connections
}

TEST(PgBouncerStatsCollectorTest, ReadsShowStatsOfVersionsBefore1Point8) {
  Snapshot snap;
  ASSERT_TRUE(ParseFixture("pgbouncer_stats", "1.7", "show_stats", &snap).ok());
  ASSERT_EQ(View(snap).stats.size(), 1u);
  const PgBouncerStats st = View(snap).stats[0];
  EXPECT_EQ(st.database, "app");
  EXPECT_EQ(st.queries, 480000);  // total_requests
  EXPECT_EQ(st.query_seconds, 1800);
  EXPECT_EQ(st.transactions, std::nullopt);
  EXPECT_EQ(st.client_wait_seconds, std::nullopt);
  EXPECT_EQ(st.transaction_seconds, std::nullopt);
}

TEST(PgBouncerListsCollectorTest, ReadsRowsAndTheDocumentedColumnForm) {
  Snapshot rows, columns;
  ASSERT_TRUE(
      ParseFixture("pgbouncer_lists", "1.18", "show_lists", &rows).ok());
  ResultSet one_row({"databases", "used_clients", "login_clients"},
                    {{S("3"), S("67"), S("2")}});
  ASSERT_TRUE(ParseInto(*Make("pgbouncer_lists"), one_row, &columns).ok());
  EXPECT_EQ(
      View(columns).lists,
      (States{{"databases", 3}, {"used_clients", 67}, {"login_clients", 2}}));
  EXPECT_EQ(View(rows).lists.at("used_clients"),
            View(columns).lists.at("used_clients"));
}

// What the signal stage exports for one snapshot: "name/labels..." -> value.
std::map<std::string, double> SignalSamples(Snapshot snap) {
  const auto stage = NewPgBouncerSignalStage();
  stage->Derive(&snap);
  MetricsWriter w;
  stage->Emit(snap, EmitContext{{{"target", "b"}}, true}, &w);
  std::map<std::string, double> out;
  for (const auto& f : w.Take()) {
    for (const auto& m : f.metric) {
      std::string key = f.name;
      for (const auto& l : m.label) {
        if (l.name != "target") key += "/" + l.value;
      }
      out[key] = m.gauge.value;
    }
  }
  return out;
}

// Drops `column` from every row of `rs`.
ResultSet Without(const ResultSet& rs, const std::string& column) {
  const int drop = rs.ColumnIndex({column});
  std::vector<std::string> cols;
  for (int i = 0; i < static_cast<int>(rs.columns().size()); ++i) {
    if (i != drop) cols.push_back(rs.columns()[i]);
  }
  ResultSet out(cols, {});
  for (ResultSet::Row row : rs.rows()) {
    if (drop >= 0) row.erase(row.begin() + drop);
    out.AddRow(std::move(row));
  }
  return out;
}

TEST(PgBouncerCollectorsTest, AMissingExpectedColumnIsReportedNotAFailure) {
  // A future PgBouncer that drops (or renames) a column every supported
  // version has: the collector reads the rest, the metric of that column
  // is absent, and pgconn_pgbouncer_missing_columns names it.
  Snapshot snap;
  ASSERT_TRUE(ParseInto(*Make("pgbouncer_pools"),
                        Without(LoadPgBouncerFixture("1.25", "show_pools"),
                                "cl_waiting"),
                        &snap)
                  .ok());
  ASSERT_TRUE(
      ParseInto(*Make("pgbouncer_databases"),
                Without(Without(LoadPgBouncerFixture("1.25", "show_databases"),
                                "pool_size"),
                        "paused"),
                &snap)
          .ok());
  ASSERT_TRUE(
      ParseInto(*Make("pgbouncer_stats"),
                Without(LoadPgBouncerFixture("1.25", "show_stats_totals"),
                        "bytes_sent"),
                &snap)
          .ok());
  ResultSet config({"key", "value"}, {{S("default_pool_size"), S("20")}});
  ASSERT_TRUE(ParseInto(*Make("pgbouncer_config"), config, &snap).ok());
  const BouncerView b = View(snap);
  const PgBouncerPool* worker = FindPool(b, "app", "worker");
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->clients.count("waiting"), 0u);
  EXPECT_EQ(worker->clients.at("active"), 25);
  EXPECT_EQ(FindDatabase(b, "app")->pool_size, std::nullopt);
  EXPECT_EQ(FindDatabase(b, "app")->current_connections, 28);
  EXPECT_EQ(FindStats(b, "app")->sent_bytes, std::nullopt);
  EXPECT_EQ(FindStats(b, "app")->received_bytes, 98765432);
  EXPECT_EQ(b.config.max_client_conn, std::nullopt);
  EXPECT_EQ(b.config.default_pool_size, 20);

  const auto s = SignalSamples(snap);
  const std::string m = "pgconn_pgbouncer_missing_columns/";
  EXPECT_EQ(s.at(m + "SHOW POOLS/cl_waiting"), 1);
  EXPECT_EQ(s.at(m + "SHOW DATABASES/pool_size"), 1);
  EXPECT_EQ(s.at(m + "SHOW DATABASES/paused"), 1);
  EXPECT_EQ(s.at(m + "SHOW STATS_TOTALS/bytes_sent"), 1);
  EXPECT_EQ(s.at(m + "SHOW CONFIG/max_client_conn"), 1);
  EXPECT_EQ(s.at(m + "SHOW CONFIG/pool_mode"), 1);
  size_t missing = 0;
  for (const auto& [k, v] : s) missing += k.rfind(m, 0) == 0 ? 1 : 0;
  EXPECT_EQ(missing, 10u);  // and the five other settings of SHOW CONFIG
  // The pool's saturation falls back to default_pool_size (20): 25 / 20.
  EXPECT_EQ(s.at("pgconn_pgbouncer_server_pool_utilization_ratio/app/worker"),
            1.25);
  // No client utilization without max_client_conn.
  EXPECT_EQ(s.count("pgconn_pgbouncer_client_utilization_ratio"), 0u);

  // The collectors' own metrics leave out what is missing, rather than 0.
  MetricsWriter w;
  Make("pgbouncer_pools")->Emit(*snap.Get("pgbouncer_pools"), {}, &w);
  Make("pgbouncer_databases")->Emit(*snap.Get("pgbouncer_databases"), {}, &w);
  std::set<std::string> families;
  for (const auto& f : w.Take()) families.insert(f.name);
  EXPECT_EQ(families.count("pgconn_pgbouncer_waiting_clients"), 0u);
  EXPECT_EQ(families.count("pgconn_pgbouncer_logical_connections"), 1u);
  EXPECT_EQ(families.count("pgconn_pgbouncer_database_paused"), 0u);
  EXPECT_EQ(families.count("pgconn_pgbouncer_database_server_connections"), 1u);
}

TEST(PgBouncerCollectorsTest, NullsAndEmptyCellsAreNotSetNotErrors) {
  // 1.24+ sends NULL where a value is not set (load_balance_hosts,
  // pool_mode, force_user) and SHOW USERS an empty string for an unset
  // pool size; neither is a number, neither is 0.
  Snapshot snap;
  ResultSet dbs(
      {"name", "pool_size", "current_connections", "reserve_pool_size",
       "max_connections", "paused", "disabled", "load_balance_hosts"},
      {{S("app"), S(""), S("3"), kNull, S("0"), S("0"), S("0"), kNull}});
  ASSERT_TRUE(ParseInto(*Make("pgbouncer_databases"), dbs, &snap).ok());
  EXPECT_EQ(View(snap).databases.at(0).pool_size, std::nullopt);
  EXPECT_EQ(View(snap).databases.at(0).reserve_pool_size, std::nullopt);
  EXPECT_EQ(View(snap).databases.at(0).current_connections, 3);
  EXPECT_TRUE(snap.Find<PgBouncerDatabases>()->missing_columns.empty());
  ResultSet config({"key", "value", "default", "changeable"},
                   {{S("max_client_conn"), S("100"), S("100"), S("yes")},
                    {S("default_pool_size"), S("20"), S("20"), S("yes")},
                    {S("max_db_connections"), kNull, kNull, S("yes")},
                    {S("query_wait_timeout"), S(""), S("120"), S("yes")}});
  ASSERT_TRUE(ParseInto(*Make("pgbouncer_config"), config, &snap).ok());
  EXPECT_EQ(View(snap).config.max_db_connections, std::nullopt);
  EXPECT_EQ(View(snap).config.query_wait_timeout_seconds, std::nullopt);
  EXPECT_EQ(View(snap).config.max_client_conn, 100);
}

TEST(PgBouncerDatabasesCollectorTest, NullAndMissingOptionalColumnsAreAbsent) {
  Snapshot snap;
  ResultSet rs(
      {"name", "pool_size", "current_connections", "reserve_pool", "paused"},
      {{S("app"), S("10"), S("4"), kNull, S("0")}});
  ASSERT_TRUE(ParseInto(*Make("pgbouncer_databases"), rs, &snap).ok());
  const PgBouncerDatabase d = View(snap).databases.at(0);
  EXPECT_EQ(d.pool_size, 10);
  EXPECT_EQ(d.current_connections, 4);
  EXPECT_EQ(d.reserve_pool_size, std::nullopt);
  EXPECT_EQ(d.max_connections, std::nullopt);
  EXPECT_EQ(d.paused, false);
  EXPECT_EQ(d.disabled, std::nullopt);
}

struct BadInput {
  std::string collector;
  ResultSet rows;
  std::string error;
};

TEST(PgBouncerCollectorsTest, RejectsMalformedAnswersAndLeavesNothingBehind) {
  const std::vector<BadInput> cases = {
      // Without what identifies a row, nothing can be attributed.
      {"pgbouncer_pools",
       ResultSet(
           {"database", "cl_active", "cl_waiting", "sv_active", "sv_idle"}, {}),
       "pgbouncer_pools: missing column \"user\""},
      {"pgbouncer_pools",
       ResultSet({"database", "user", "cl_active", "cl_waiting", "sv_active",
                  "sv_idle"},
                 {{S("app"), S("w"), S("many"), S("0"), S("0"), S("0")}}),
       "pgbouncer_pools: column \"cl_active\": \"many\" is not a whole number"},
      {"pgbouncer_pools",
       ResultSet(
           {"database", "user", "cl_active", "cl_waiting", "sv_active",
            "sv_idle", "maxwait_us"},
           {{S("app"), S("w"), S("1"), S("0"), S("0"), S("0"), S("1.5")}}),
       "pgbouncer_pools: column \"maxwait_us\": \"1.5\" is not a whole number"},
      {"pgbouncer_databases", ResultSet({"pool_size"}, {}),
       "pgbouncer_databases: missing column \"name\""},
      {"pgbouncer_databases",
       ResultSet({"name", "pool_size", "current_connections", "reserve_pool"},
                 {{S("app"), S("10"), S("1"), S("-")}}),
       "pgbouncer_databases: column \"reserve_pool\": \"-\" is not a whole "
       "number"},
      {"pgbouncer_stats", ResultSet({"xact_count"}, {}),
       "pgbouncer_stats: missing column \"database\""},
      {"pgbouncer_lists", ResultSet({"list", "items"}, {}),
       "pgbouncer_lists: no lists"},
      {"pgbouncer_lists", ResultSet({"used_clients"}, {{S("1")}, {S("2")}}),
       "pgbouncer_lists: expected (list, items) rows or one row, got 2 rows"},
      {"pgbouncer_lists", ResultSet({"list", "items"}, {{S("pools"), S("x")}}),
       "pgbouncer_lists: column \"items\": \"x\" is not a whole number"},
      {"pgbouncer_config", ResultSet({"key"}, {}),
       "pgbouncer_config: missing column \"value\""},
      {"pgbouncer_config",
       ResultSet({"key", "value"}, {{S("max_client_conn"), S("lots")},
                                    {S("default_pool_size"), S("20")}}),
       "pgbouncer_config: max_client_conn: \"lots\" is not a whole number"},
      {"pgbouncer_config",
       ResultSet({"key", "value"}, {{S("max_client_conn"), S("100")},
                                    {S("default_pool_size"), S("20")},
                                    {S("query_wait_timeout"), S("2m")}}),
       "pgbouncer_config: query_wait_timeout: \"2m\" is not a number"},
  };
  for (const BadInput& c : cases) {
    // A poll's snapshot starts empty; a failed parse must leave no part in
    // it, so the collector's metrics are absent rather than stale.
    Snapshot snap;
    Status s = ParseInto(*Make(c.collector), c.rows, &snap);
    ASSERT_FALSE(s.ok()) << c.collector << ": " << c.error;
    EXPECT_EQ(s.message(), c.error);
    EXPECT_EQ(snap.Get(c.collector), nullptr) << c.error;
  }
}

}  // namespace
}  // namespace pgconn
