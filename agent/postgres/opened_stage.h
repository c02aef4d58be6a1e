// Connections opened, counted from polls: a signal stage that tells the
// client backends it had not seen before, by identity, and keeps a counter
// per application for the life of the agent.
#ifndef PGCONN_AGENT_POSTGRES_OPENED_STAGE_H_
#define PGCONN_AGENT_POSTGRES_OPENED_STAGE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "pgconn/thread_annotations.h"
#include "util/folding_counters.h"

namespace pgconn {

struct Activity;

// What pgconn_connections_opened_total exports, in the snapshot.
struct ConnectionsOpened {
  static constexpr std::string_view kName = "connections_opened";
  std::map<std::string, uint64_t> totals;  // by application label
};

// The counters and the identities of the previous scan: one target's, kept
// by the agent across the pollers it builds for that target (a reload that
// changes the target replaces its poller and pipeline, not these), so the
// counters never go down before the agent restarts. Thread-safe.
class OpenedCounts {
 public:
  // At most `max_applications` names get a counter of their own
  // (FoldingCounters); `pinned` (declared pools) keep theirs.
  OpenedCounts(size_t max_applications,
               std::set<std::string, std::less<>> pinned);

  // One successful activity scan: counts `activity.recent`'s backends that
  // were not in the previous scan (none on the first), makes sure every
  // application of `activity.groups` has a counter, and remembers this
  // scan's identities for the next.
  void Scan(const Activity& activity) PGCONN_EXCLUDES(mu_);
  // A reload's settings, for a poller built anew for the same target.
  void Configure(size_t max_applications,
                 std::set<std::string, std::less<>> pinned)
      PGCONN_EXCLUDES(mu_);
  std::map<std::string, uint64_t> Totals() const PGCONN_EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  FoldingCounters counters_ PGCONN_GUARDED_BY(mu_);
  // The previous scan's identities ("pid:µs of backend_start") as numbers,
  // sorted; any that is not of that form (none is) as text.
  std::vector<std::pair<int64_t, int64_t>> previous_ PGCONN_GUARDED_BY(mu_);
  std::unordered_set<std::string> previous_text_ PGCONN_GUARDED_BY(mu_);
  bool scanned_ PGCONN_GUARDED_BY(mu_) = false;
};

// Exports pgconn_connections_opened_total{application} from `counts`:
// client backends seen in a scan that were not in the previous one (by pid
// and backend_start), so a session is counted once, whenever its login
// ended, however many scans see it. A lower bound: a session that opens
// and closes between two polls is never seen. Thread-safe.
std::unique_ptr<SignalStage> NewConnectionsOpenedStage(
    std::shared_ptr<OpenedCounts> counts);

}  // namespace pgconn

#endif  // PGCONN_AGENT_POSTGRES_OPENED_STAGE_H_
