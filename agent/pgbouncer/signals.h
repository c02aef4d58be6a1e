// The PgBouncer signal stage: what combines SHOW POOLS, DATABASES, LISTS and
// CONFIG (server-pool saturation, client-connection utilization) and the
// target's up flag under its PgBouncer name.
#ifndef PGCONN_AGENT_PGBOUNCER_SIGNALS_H_
#define PGCONN_AGENT_PGBOUNCER_SIGNALS_H_

#include <memory>

#include "collect/collector.h"
#include "pgbouncer/pgbouncer.h"

namespace pgconn {

std::unique_ptr<SignalStage> NewPgBouncerSignalStage();

}  // namespace pgconn

#endif  // PGCONN_AGENT_PGBOUNCER_SIGNALS_H_
