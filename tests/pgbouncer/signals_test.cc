// The PgBouncer signals on hand-made edge cases.
#include <gtest/gtest.h>

#include "pgbouncer/pgbouncer.h"
#include "pgbouncer_fixtures.h"

namespace pgconn {
namespace {

using testing::BouncerView;
using testing::SnapshotOf;

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
  BouncerView data;
  int64_t logical, physical, waiting;
  std::optional<int64_t> pool_size;
  std::optional<double> server_utilization;
  std::optional<double> client_utilization;
};

TEST(PgBouncerSignalsTest, DerivesExhaustionSaturationAndLimits) {
  BouncerView guide;  // the guide: 10 workers x 5 through a pool of 25
  guide.pools = {Pool("app", {{"active", 25}, {"waiting", 25}},
                      {{"active", 25}, {"idle", 0}})};
  guide.databases = {{"app", 25, 0, 0, 25, {}, {}, false, false}};
  guide.has_pools = guide.has_databases = true;
  guide.lists = {{"used_clients", 51}};
  guide.has_lists = true;
  guide.config.max_client_conn = 1000;
  guide.config.default_pool_size = 20;
  guide.has_config = true;

  BouncerView reserve = guide;  // reserve pool engaged: 27 of 25
  reserve.pools[0].servers = {{"active", 26}, {"being_canceled", 1}};

  BouncerView no_db_row = guide;  // falls back to default_pool_size
  no_db_row.databases.clear();
  no_db_row.pools[0].servers = {
      {"active", 5}, {"active_cancel", 1}, {"idle", 3}, {"tested", 1}};

  BouncerView nothing_known;  // no databases, no config, no lists
  nothing_known.pools = {Pool("app", {{"active", 1}}, {{"idle", 1}})};
  nothing_known.has_pools = true;

  BouncerView zero_pool = guide;  // pool_size 0: no ratio, no division
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
    const Snapshot snap = SnapshotOf(c.data);
    const auto* pools = snap.Find<PgBouncerPools>();
    ASSERT_NE(pools, nullptr) << c.name;
    EXPECT_EQ(pools->logical_connections, c.logical) << c.name;
    EXPECT_EQ(pools->physical_connections, c.physical) << c.name;
    EXPECT_EQ(pools->waiting_clients, c.waiting) << c.name;
    const PgBouncerSignals s = DerivePgBouncerSignals(
        pools, snap.Find<PgBouncerDatabases>(), snap.Find<PgBouncerLists>(),
        snap.Find<PgBouncerConfig>());
    ASSERT_EQ(s.pools.size(), 1u) << c.name;
    EXPECT_EQ(s.pools[0].pool_size, c.pool_size) << c.name;
    EXPECT_EQ(s.pools[0].server_utilization, c.server_utilization) << c.name;
    EXPECT_EQ(s.client_utilization, c.client_utilization) << c.name;
  }
}

}  // namespace
}  // namespace pgconn
