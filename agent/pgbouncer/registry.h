// The table of PgBouncer admin-console collectors: one row per collector,
// each defined in a file of its own beside this one (*_collector.cc).
#ifndef PGCONN_AGENT_PGBOUNCER_REGISTRY_H_
#define PGCONN_AGENT_PGBOUNCER_REGISTRY_H_

#include <vector>

#include "collect/collector.h"

namespace pgconn {

const std::vector<CollectorEntry>& PgBouncerCollectors();

}  // namespace pgconn

#endif  // PGCONN_AGENT_PGBOUNCER_REGISTRY_H_
