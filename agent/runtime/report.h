// What the poller publishes about one target after every poll.
#ifndef PGCONN_AGENT_RUNTIME_REPORT_H_
#define PGCONN_AGENT_RUNTIME_REPORT_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "collect/snapshot.h"
#include "pgconn/config.h"
#include "pgconn/status.h"

namespace pgconn {

// The `reason` label values of pgconn_poll_errors_total. All of them are
// exported from the start (with 0) so that rate() sees the first error.
inline constexpr std::array<std::string_view, 8> kPollErrorReasons = {
    "connect",         "auth",  "too_many_clients", "timeout",
    "connection_lost", "query", "invalid_data",     "internal"};

std::string_view PollErrorReason(StatusCode code);

struct PollStats {
  uint64_t polls_total = 0;
  std::map<std::string, uint64_t> errors_total;  // by reason
  double last_duration_seconds = 0;
  double last_success_unix = 0;  // 0 until the first success
  bool attempted = false;        // at least one poll has finished
};

// Value type, copied into the publisher; the snapshot is shared and
// immutable.
struct TargetReport {
  std::string target;
  TargetKind kind = TargetKind::kPostgres;
  bool up = false;
  // The last successful snapshot; kept while the target is down so that
  // dashboards keep their last known values next to pgconn_up 0.
  std::shared_ptr<const Snapshot> snapshot;
  PollStats stats;
  double poll_interval_seconds = 0;
  double near_limit_threshold = 0.8;
  // Declared pools and overhead from the configuration (issue: pool budget).
  std::vector<PoolDeclaration> pools;
  std::optional<int> overhead;
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_RUNTIME_REPORT_H_
