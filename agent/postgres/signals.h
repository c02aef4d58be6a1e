// The connection warning signs of the pooling guide that combine two
// collectors: the settings (how many slots there are) and the activity (how
// many are used). Pure arithmetic, derived once per poll.
#ifndef PGCONN_AGENT_POSTGRES_SIGNALS_H_
#define PGCONN_AGENT_POSTGRES_SIGNALS_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "collect/collector.h"
#include "postgres/observations.h"

namespace pgconn {

struct ConnectionSignals {
  static constexpr std::string_view kName = "connection_signals";
  int64_t used = 0;       // client backends
  int64_t reserved = 0;   // superuser_reserved + reserved
  int64_t usable = 0;     // max(max_connections - reserved, 0)
  int64_t available = 0;  // max(usable - used, 0)
  // used / usable. With no usable slot at all it is 1 (nothing more can
  // connect). Above 1 when superusers eat into the reserved slots.
  double utilization = 0;
  double near_limit_threshold = 0.8;
  bool near_limit = false;  // utilization >= threshold
};

ConnectionSignals DeriveConnectionSignals(const ConnectionLimits& limits,
                                          const ActivitySummary& activity,
                                          double near_limit_threshold);

// Derives ConnectionSignals where the snapshot has both the settings and the
// activity, and emits pgconn_available_connections, _utilization_ratio,
// _near_limit and _near_limit_threshold_ratio.
std::unique_ptr<SignalStage> NewConnectionSignalStage(
    double near_limit_threshold);

}  // namespace pgconn

#endif  // PGCONN_AGENT_POSTGRES_SIGNALS_H_
