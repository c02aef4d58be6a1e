// The PostgreSQL collectors, in the order their statements run. Adding one:
// its file (NAME_collector.cc, defining NewNAMECollector), one declaration
// and one row here.
#include "postgres/registry.h"

namespace pgconn {

std::unique_ptr<Collector> NewSettingsCollector();
std::unique_ptr<Collector> NewActivityCollector();
std::unique_ptr<Collector> NewDatabasesCollector();
std::unique_ptr<Collector> NewUsersCollector();
std::unique_ptr<Collector> NewBackendsCollector();
std::unique_ptr<Collector> NewSessionsCollector();
std::unique_ptr<Collector> NewWaitEventsCollector();

const std::vector<CollectorEntry>& PostgresCollectors() {
  static const std::vector<CollectorEntry> kTable = {
      {"settings", true, "max_connections and the reserved slots (pg_settings)",
       NewSettingsCollector},
      {"activity", true,
       "client backends by application and state (pg_stat_activity)",
       NewActivityCollector},
      {"databases", true, "client backends per database against datconnlimit",
       NewDatabasesCollector},
      {"users", true, "client backends per role against rolconnlimit",
       NewUsersCollector},
      {"backends", true, "backends other than clients, by backend_type",
       NewBackendsCollector},
      {"sessions", true,
       "session counts and times per database (pg_stat_database, 14+)",
       NewSessionsCollector},
      {"wait_events", true,
       "client backends waiting, by application and wait_event_type",
       NewWaitEventsCollector},
  };
  return kTable;
}

}  // namespace pgconn
