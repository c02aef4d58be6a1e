// Peaks of a PgBouncer target over peak_window (see postgres/peak_stage.h).
#ifndef PGCONN_AGENT_PGBOUNCER_PEAK_STAGE_H_
#define PGCONN_AGENT_PGBOUNCER_PEAK_STAGE_H_

#include <memory>

#include "collect/collector.h"
#include "pgconn/clock.h"
#include "pgconn/config.h"

namespace pgconn {

// Exports pgconn_pgbouncer_waiting_clients_peak{database,user}.
// Thread-safe.
std::unique_ptr<SignalStage> NewPgBouncerPeakStage(Duration window,
                                                   const Clock& clock);

}  // namespace pgconn

#endif  // PGCONN_AGENT_PGBOUNCER_PEAK_STAGE_H_
