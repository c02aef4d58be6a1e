// The last hour of pgconn_used_connections at poll resolution, for the
// status page's chart: a bounded ring in memory, nothing on disk. At most
// one sample per second (faster polls keep the second's highest), so at
// most kUsedHistoryCapacity samples of sizeof(UsedSample) = 16 bytes:
// 57.6 kB per target at most, 11.5 kB at the default 5 s poll interval.
#ifndef PGCONN_AGENT_POSTGRES_USED_HISTORY_H_
#define PGCONN_AGENT_POSTGRES_USED_HISTORY_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>
#include <vector>

#include "collect/collector.h"
#include "pgconn/clock.h"
#include "pgconn/thread_annotations.h"

namespace pgconn {

struct UsedSample {
  int64_t unix_ms = 0;  // when the poll ended, by the agent's wall clock
  int64_t used = 0;     // client backends, the agent's own included
};

inline constexpr int64_t kUsedHistorySpanMs = 3600LL * 1000;  // one hour
inline constexpr size_t kUsedHistoryCapacity = 3600;          // one a second

// Thread-safe. The agent keeps one per target name, so that a reload that
// rebuilds the target's pipeline keeps the history.
class UsedHistoryBuffer {
 public:
  UsedHistoryBuffer() = default;
  UsedHistoryBuffer(const UsedHistoryBuffer&) = delete;
  UsedHistoryBuffer& operator=(const UsedHistoryBuffer&) = delete;

  // Adds a sample and forgets what is older than an hour before it. A
  // sample in the same second as the last one replaces it if higher; one
  // earlier than the last (the wall clock was set back) first drops the
  // samples after it.
  void Add(int64_t unix_ms, int64_t used);
  std::vector<UsedSample> Samples() const;

 private:
  mutable Mutex mu_;
  std::deque<UsedSample> samples_ PGCONN_GUARDED_BY(mu_);
};

// What the status page draws: a copy of the buffer as of the poll.
struct UsedHistory {
  static constexpr std::string_view kName = "used_history";
  std::vector<UsedSample> samples;  // oldest first
  double poll_interval_seconds = 0;
};

// Must run after the connection signal stage (it reads ConnectionSignals).
// Exports nothing. Null `buffer`: the stage keeps one of its own.
std::unique_ptr<SignalStage> NewUsedHistoryStage(
    const Clock& clock, double poll_interval_seconds,
    std::shared_ptr<UsedHistoryBuffer> buffer);

}  // namespace pgconn

#endif  // PGCONN_AGENT_POSTGRES_USED_HISTORY_H_
