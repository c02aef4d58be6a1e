// What a right-sizing of the declared pools needs beyond one poll (issue
// 20), per declared application: the busy peak over the peak window, and
// two counters, seconds at capacity and busy connection-seconds. Prometheus
// scrapes every 15-60 s while pools burst for a second or two; these numbers
// come from every poll, so `plan --from-prometheus` sees the bursts.
#ifndef PGCONN_AGENT_POOLS_POOL_EVIDENCE_H_
#define PGCONN_AGENT_POOLS_POOL_EVIDENCE_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "collect/peak_window.h"
#include "pgconn/config.h"
#include "pgconn/thread_annotations.h"

namespace pgconn {

struct DeclaredPoolSignals;

// One application's evidence as of the last poll.
struct PoolEvidence {
  // Highest busy count (active, idle in transaction, aborted or not,
  // fastpath) any successful poll saw within the peak window.
  double busy_peak = 0;
  // Σ over successful polls that saw busy >= replicas × pool_max (capacity >
  // 0) of the poll interval: each such poll stands for the interval that
  // ends at it.
  double saturated_seconds_total = 0;
  // Σ over successful polls of busy × the poll interval: connection-seconds
  // checked out; its rate is the mean number of busy connections.
  double busy_seconds_total = 0;
};

// The evidence of one target's declared applications. The agent keeps one
// per target name for as long as it runs, so that a reload that rebuilds
// the target's pipeline keeps the counters (they never go down) and the
// peaks. Entries are created for declared applications only, so their
// number is bounded by the configuration. Thread-safe.
class PoolEvidenceLedger {
 public:
  PoolEvidenceLedger() = default;
  PoolEvidenceLedger(const PoolEvidenceLedger&) = delete;
  PoolEvidenceLedger& operator=(const PoolEvidenceLedger&) = delete;

  // Records one successful poll at `now` (times never go back) and sets the
  // evidence of each of `declared`. A change of `peak_window` restarts the
  // application's peak; the counters carry on.
  void Record(PeakWindow::TimePoint now, Duration peak_window,
              double poll_interval_seconds,
              std::vector<DeclaredPoolSignals>* declared);

  // Sets the evidence of each of `declared` from what was recorded so far
  // (zero for an application never recorded), without recording anything:
  // a snapshot without activity data.
  void Fill(std::vector<DeclaredPoolSignals>* declared) const;

 private:
  struct Entry {
    explicit Entry(Duration w) : window(w), peak(w) {}
    Duration window;
    PeakWindow peak;
    PoolEvidence evidence;
  };
  mutable Mutex mu_;
  std::map<std::string, Entry> entries_ PGCONN_GUARDED_BY(mu_);
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_POOLS_POOL_EVIDENCE_H_
