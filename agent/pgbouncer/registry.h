// The table of PgBouncer admin-console collectors: one row per collector,
// each defined in a file of its own beside this one.
#ifndef PGCONN_AGENT_PGBOUNCER_REGISTRY_H_
#define PGCONN_AGENT_PGBOUNCER_REGISTRY_H_

#include <memory>
#include <vector>

#include "collect/collector.h"

namespace pgconn {

const std::vector<CollectorEntry>& PgBouncerCollectors();

// Constructors, one per collector file.
std::unique_ptr<Collector> NewPgBouncerPoolsCollector();
std::unique_ptr<Collector> NewPgBouncerDatabasesCollector();
std::unique_ptr<Collector> NewPgBouncerStatsCollector();
std::unique_ptr<Collector> NewPgBouncerListsCollector();
std::unique_ptr<Collector> NewPgBouncerConfigCollector();

}  // namespace pgconn

#endif  // PGCONN_AGENT_PGBOUNCER_REGISTRY_H_
