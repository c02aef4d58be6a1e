// The table of PostgreSQL collectors: one row per collector, each defined in
// a file of its own beside this one.
#ifndef PGCONN_AGENT_POSTGRES_REGISTRY_H_
#define PGCONN_AGENT_POSTGRES_REGISTRY_H_

#include <memory>
#include <vector>

#include "collect/collector.h"

namespace pgconn {

const std::vector<CollectorEntry>& PostgresCollectors();

// Constructors, one per collector file.
std::unique_ptr<Collector> NewSettingsCollector();
std::unique_ptr<Collector> NewActivityCollector();
std::unique_ptr<Collector> NewDatabasesCollector();
std::unique_ptr<Collector> NewUsersCollector();
std::unique_ptr<Collector> NewBackendsCollector();

}  // namespace pgconn

#endif  // PGCONN_AGENT_POSTGRES_REGISTRY_H_
