// The PgBouncer admin-console collectors, in the order they run. The console
// takes one command per query, so each collector is one SHOW command.
#include "pgbouncer/registry.h"

namespace pgconn {

std::unique_ptr<Collector> NewPgBouncerPoolsCollector();
std::unique_ptr<Collector> NewPgBouncerDatabasesCollector();
std::unique_ptr<Collector> NewPgBouncerStatsCollector();
std::unique_ptr<Collector> NewPgBouncerListsCollector();
std::unique_ptr<Collector> NewPgBouncerConfigCollector();
std::unique_ptr<Collector> NewPgBouncerClientsCollector();

const std::vector<CollectorEntry>& PgBouncerCollectors() {
  static const std::vector<CollectorEntry> kTable = {
      {"pgbouncer_pools", true, "clients and servers per pool (SHOW POOLS)",
       NewPgBouncerPoolsCollector},
      {"pgbouncer_databases", true,
       "pool sizes and limits per database (SHOW DATABASES)",
       NewPgBouncerDatabasesCollector},
      {"pgbouncer_stats", true,
       "traffic and wait-time totals per database (SHOW STATS_TOTALS)",
       NewPgBouncerStatsCollector},
      {"pgbouncer_lists", true, "internal counts, used clients (SHOW LISTS)",
       NewPgBouncerListsCollector},
      {"pgbouncer_config", true,
       "the settings that bound connections (SHOW CONFIG)",
       NewPgBouncerConfigCollector},
      {"pgbouncer_clients", true,
       "client connections by database, user, application and state (SHOW "
       "CLIENTS)",
       NewPgBouncerClientsCollector},
  };
  return kTable;
}

}  // namespace pgconn
