// Collectors: each one contributes a statement to the poll and parses its own
// result into the snapshot. The framework, not the collectors, measures
// success and duration and batches every statement into one round trip.
#ifndef PGCONN_AGENT_COLLECT_COLLECTOR_H_
#define PGCONN_AGENT_COLLECT_COLLECTOR_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collect/snapshot.h"
#include "pgconn/clock.h"
#include "pgconn/result_set.h"
#include "pgconn/session.h"
#include "pgconn/status.h"

namespace pgconn {

// What a collector may need to write its statement.
struct CollectorContext {
  int max_applications = 50;
  // Application names never folded into "(other)" while there is room for
  // them: the declared pools, whose metrics need their own counts.
  std::vector<std::string> pinned_applications;
  int max_users = 100;
  int max_databases = 100;
  int server_version_num = 0;  // 0 when not yet known
};

// Stateless; implementations must be thread-safe.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual std::string_view name() const = 0;
  // Exactly one SQL statement, without a trailing ';'.
  virtual std::string Statement(const CollectorContext& ctx) const = 0;
  // Pure: reads `rows`, writes its part of `out`.
  virtual Status Parse(const ResultSet& rows, Snapshot* out) const = 0;
};

// The explicit table of collectors for one kind of target.
struct CollectorEntry {
  std::string_view name;
  bool enabled_by_default;
  std::function<std::unique_ptr<Collector>()> create;
};

struct RunOptions {
  // Send every statement in one query (PostgreSQL). The PgBouncer admin
  // console takes one command per query, so it runs them one by one.
  bool batch = true;
};

// Runs `collectors` on `session` and fills `out`, including one
// CollectorOutcome per collector. When the batch fails with a query error,
// each collector is retried alone so that one failing statement does not
// blind the others. Returns non-OK only when the session itself failed
// (connection lost, timeout): then nothing in `out` is meaningful.
Status RunCollectors(Session& session,
                     const std::vector<const Collector*>& collectors,
                     const CollectorContext& ctx, const RunOptions& options,
                     Deadline deadline, const Clock& clock, Snapshot* out);

}  // namespace pgconn

#endif  // PGCONN_AGENT_COLLECT_COLLECTOR_H_
