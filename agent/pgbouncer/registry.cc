// The PgBouncer admin-console collectors, in the order they run.
#include "pgbouncer/registry.h"

namespace pgconn {

const std::vector<CollectorEntry>& PgBouncerCollectors() {
  // One admin-console command each; the console takes one per query.
  static const std::vector<CollectorEntry> kTable = {
      {"pgbouncer_pools", true, NewPgBouncerPoolsCollector},
      {"pgbouncer_databases", true, NewPgBouncerDatabasesCollector},
      {"pgbouncer_stats", true, NewPgBouncerStatsCollector},
      {"pgbouncer_lists", true, NewPgBouncerListsCollector},
      {"pgbouncer_config", true, NewPgBouncerConfigCollector},
  };
  return kTable;
}

}  // namespace pgconn
