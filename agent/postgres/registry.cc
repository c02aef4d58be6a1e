// The PostgreSQL collectors, in the order their statements run.
#include "postgres/registry.h"

namespace pgconn {

const std::vector<CollectorEntry>& PostgresCollectors() {
  static const std::vector<CollectorEntry> kTable = {
      {"settings", true, NewSettingsCollector},
      {"activity", true, NewActivityCollector},
      {"databases", true, NewDatabasesCollector},
      {"users", true, NewUsersCollector},
      {"backends", true, NewBackendsCollector},
  };
  return kTable;
}

}  // namespace pgconn
