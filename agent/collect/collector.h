// Collectors and signal stages: the two kinds of step a poll goes through.
//
// A collector owns one statement, the parser of its result and the code that
// writes its metric families. The framework, not the collectors, measures
// success and duration, batches every statement into one round trip and
// emits pgconn_collector_success / _duration_seconds. A signal stage
// combines what several collectors observed (the guide's warning signs) and
// writes the families of what it derived.
#ifndef PGCONN_AGENT_COLLECT_COLLECTOR_H_
#define PGCONN_AGENT_COLLECT_COLLECTOR_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collect/snapshot.h"
#include "expose/metrics_writer.h"
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
  // The server's now() at the previous successful activity scan of this
  // target, in microseconds since the Unix epoch (its scan_time); none
  // before the first. Connections whose backend_start is later (and not
  // later than this scan's now()) were opened since.
  std::optional<int64_t> previous_scan_time_us;
  // (Every field above but previous_scan_time_us may shape a statement's
  // text: RunCollectors' BatchKey names them, so that a session builds its
  // statements again when one changes.)
  // The names of the collectors in this poll (RunCollectors fills it in), so
  // that collectors sharing one statement can each include the others'
  // parts in it.
  std::vector<std::string> collectors;
};

// A statement whose per-poll values are parameters ($1, $2, ...), so that a
// session can prepare it once (PREPARE) and run it every poll (EXECUTE)
// without the server planning it again. `sql` stays the same from one poll
// to the next as long as the context's settings do.
struct ParameterizedStatement {
  std::string sql;
  std::vector<std::string> parameter_types;  // the SQL type of each $N
  std::vector<std::string> arguments;        // a SQL literal for each $N
};

// Stateless; implementations must be thread-safe.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual std::string_view name() const = 0;
  // False where the server lacks what the statement reads (a view or column
  // of a later version): the collector is then left out of the poll, so its
  // metrics are absent rather than zero.
  virtual bool Supports(int /*server_version_num*/) const { return true; }
  // Exactly one SQL statement, without a trailing ';'.
  virtual std::string Statement(const CollectorContext& ctx) const = 0;
  // Statement(ctx) with its per-poll values as parameters; by default the
  // statement itself, which has none.
  virtual ParameterizedStatement Parameterized(
      const CollectorContext& ctx) const {
    return {Statement(ctx), {}, {}};
  }
  // Parameterized(ctx).arguments, without building the statement: what a
  // session that prepared the statement sends each poll.
  virtual std::vector<std::string> Arguments(
      const CollectorContext& ctx) const {
    return Parameterized(ctx).arguments;
  }
  // Pure: what this collector observed in `rows`.
  virtual Result<std::shared_ptr<const Observation>> Parse(
      const ResultSet& rows) const = 0;
  // Parse() where what is kept depends on the context (a cap on label
  // values that the statement cannot apply, as on the PgBouncer console).
  // What RunCollectors calls.
  virtual Result<std::shared_ptr<const Observation>> ParseIn(
      const ResultSet& rows, const CollectorContext& /*ctx*/) const {
    return Parse(rows);
  }
  // Pure: the metric families of `observed`, a result of Parse().
  virtual void Emit(const Observation& observed, const Labels& target,
                    MetricsWriter* w) const = 0;
};

// A collector whose observation is the plain struct T (with T::kName, the
// collector's name): subclasses parse into a T and emit from a T.
template <typename T>
class CollectorOf : public Collector {
 public:
  std::string_view name() const final { return T::kName; }
  Result<std::shared_ptr<const Observation>> Parse(
      const ResultSet& rows) const final {
    Result<T> v = ParseRows(rows);
    if (!v.ok()) return v.status();
    return std::shared_ptr<const Observation>(
        std::make_shared<const Part<T>>(std::move(*v)));
  }
  void Emit(const Observation& observed, const Labels& target,
            MetricsWriter* w) const final {
    if (const auto* p = dynamic_cast<const Part<T>*>(&observed)) {
      EmitMetrics(p->value, target, w);
    }
  }

 protected:
  virtual Result<T> ParseRows(const ResultSet& rows) const = 0;
  virtual void EmitMetrics(const T& observed, const Labels& target,
                           MetricsWriter* w) const = 0;
};

// What a signal stage's Emit may need besides the snapshot.
struct EmitContext {
  Labels target;    // {{"target", name}}
  bool up = false;  // whether the target's last poll succeeded
};

// Built once per target at start-up with the target's export settings
// (thresholds, declared pools); const afterwards, so thread-safe.
class SignalStage {
 public:
  virtual ~SignalStage() = default;
  // Once per successful poll, after the collectors: adds what it derives to
  // `snap`. Also run once on an empty snapshot before the first poll.
  virtual void Derive(Snapshot* snap) const = 0;
  // Once per poll, from the last successful (or the empty) snapshot.
  virtual void Emit(const Snapshot& snap, const EmitContext& ctx,
                    MetricsWriter* w) const = 0;
};

// One row of a kind of target's explicit table of collectors.
struct CollectorEntry {
  std::string_view name;
  bool enabled_by_default;
  std::string_view help;  // one line for --help
  std::function<std::unique_ptr<Collector>()> create;
};

// The entry named `name`, or null.
const CollectorEntry* FindCollectorEntry(
    const std::vector<CollectorEntry>& table, std::string_view name);

// The collectors of `table` that are on: the entry's default, unless
// `switches` (collector name -> on) says otherwise. Names in `switches`
// that are not in the table are ignored here; configuration checks them.
std::vector<std::unique_ptr<Collector>> EnabledCollectors(
    const std::vector<CollectorEntry>& table,
    const std::map<std::string, bool, std::less<>>& switches);

struct RunOptions {
  // Send every statement in one query (PostgreSQL). The PgBouncer admin
  // console takes one command per query, so it runs them one by one.
  bool batch = true;
  // Start each statement with StatementTag(). The admin console does not
  // take comments.
  bool tag = true;
};

// Runs `collectors` on `session`: puts each one's observation into `out`
// under its name, and one CollectorOutcome per collector. In a batch,
// collectors whose statements are identical share one run of it (tagged
// with each one's tag): each parses the same result and reports its
// duration (see activity_scan.h in agent/postgres). When the batch
// fails with a query error, each collector is retried alone so that one
// failing statement does not blind the others (ctx.collectors then names
// only the collector itself, so a shared statement holds its part alone);
// a batch whose number of
// results is wrong is retried the same way, and `*batch_problem` says why
// (so the caller can log it once). Returns non-OK only when the session
// itself failed (connection lost, timeout): then nothing in `out` is
// meaningful.
Status RunCollectors(Session& session,
                     const std::vector<const Collector*>& collectors,
                     const CollectorContext& ctx, const RunOptions& options,
                     Deadline deadline, const Clock& clock, Snapshot* out,
                     std::string* batch_problem = nullptr);

// "/* pgconn:NAME */ ": the tag that starts each collector's statement, so
// that pg_stat_statements, the server log and test fakes can tell which
// collector sent it. A shared statement starts with the tag of each
// collector that shares it.
std::string StatementTag(std::string_view collector);

}  // namespace pgconn

#endif  // PGCONN_AGENT_COLLECT_COLLECTOR_H_
