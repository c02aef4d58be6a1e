// What the poller observed about one target: its state, its poll counters
// and the last successful snapshot. Configuration stays out of it: the
// target's TargetPipeline holds the export settings, fixed at start-up.
#ifndef PGCONN_AGENT_RUNTIME_REPORT_H_
#define PGCONN_AGENT_RUNTIME_REPORT_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "collect/snapshot.h"
#include "pgconn/config.h"
#include "pgconn/status.h"
#include "serverlog/follower.h"

namespace pgconn {

// The `reason` label values of pgconn_poll_errors_total. All of them are
// exported from the start (with 0) so that rate() sees the first error.
inline constexpr std::array<std::string_view, 9> kPollErrorReasons = {
    "connect", "auth",         "too_many_clients", "timeout", "connection_lost",
    "query",   "invalid_data", "password_file",    "internal"};

std::string_view PollErrorReason(StatusCode code);

struct PollStats {
  uint64_t polls_total = 0;
  std::map<std::string, uint64_t> errors_total;  // by reason
  double last_duration_seconds = 0;
  double last_success_unix = 0;  // 0 until the first success
  bool attempted = false;        // at least one poll has finished
};

// Value type; the snapshot is shared and immutable.
struct TargetReport {
  std::string target;
  TargetKind kind = TargetKind::kPostgres;
  bool up = false;
  // The last successful snapshot, with its derived signals; kept while the
  // target is down so that dashboards keep their last known values next to
  // pgconn_up 0. Null until the first success.
  std::shared_ptr<const Snapshot> snapshot;
  PollStats stats;
  // What the target's server log said so far, when it has `server_log:`;
  // read at every poll, whether the poll succeeded or not.
  std::optional<ServerLogCounts> server_log;
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_RUNTIME_REPORT_H_
