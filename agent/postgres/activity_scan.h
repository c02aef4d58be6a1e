// The one read of pg_stat_activity per poll. The activity, databases, users
// and backends collectors each own their part of it (a parser and metric
// families), but their statements are one and the same: the backends are
// read once (pg_stat_get_activity, the function behind the view) and
// aggregated at once into groups of backends that no part needs to tell
// apart; every part works on those groups. The framework runs identical
// statements once (RunCollectors), so a poll reads the backends once
// whichever of these collectors are on, and a collector switched off leaves
// its part out of the statement. The statement is prepared once per
// session: the previous scan's time, the one value that changes from poll
// to poll, is its parameter.
#ifndef PGCONN_AGENT_POSTGRES_ACTIVITY_SCAN_H_
#define PGCONN_AGENT_POSTGRES_ACTIVITY_SCAN_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "pgconn/result_set.h"

namespace pgconn::detail {

// The parts, by collector name.
inline constexpr std::string_view kActivityPart = "activity";
inline constexpr std::string_view kDatabasesPart = "databases";
inline constexpr std::string_view kUsersPart = "users";
inline constexpr std::string_view kBackendsPart = "backends";

// SQL condition on the columns of pg_stat_get_activity(NULL) that is true
// for client backends, our own session included: it takes one of the
// ordinary slots like any other client.
//
// A role without pg_read_all_stats (pg_monitor) sees other roles' sessions
// with backend_type and state NULL. Such a row that has a database and a
// user is counted as a client backend in state "unknown": the rows that
// match and are not clients (parallel workers of another role's query) are
// rare and short-lived, while dropping the rows would hide every
// connection of every other role.
std::string ClientBackendCondition();

// The statement of collector `self` (one of the parts): its own part and
// those of the other part collectors running in the same poll
// (ctx.collectors). Each result row says in column "part" which part it
// belongs to; the columns are the union of the parts' columns.
std::string ActivityScanStatement(const CollectorContext& ctx,
                                  std::string_view self);

// The same statement with the previous scan's time as parameter $1
// (bigint, microseconds since the Unix epoch, NULL before the first scan):
// its text stays the same from poll to poll, so it is prepared once.
ParameterizedStatement ActivityScanParameterized(const CollectorContext& ctx,
                                                 std::string_view self);
// Its arguments alone (what changes from poll to poll).
std::vector<std::string> ActivityScanArguments(const CollectorContext& ctx);

// A collector of one part of the scan: its statement is the scan's. One
// that labels by application folds them as the poll's context says
// (ScanClients): it overrides ParseScan.
template <typename T>
class ScanPartCollector : public CollectorOf<T> {
 public:
  Result<std::shared_ptr<const Observation>> ParseIn(
      const ResultSet& rows, const CollectorContext& ctx) const final {
    Result<T> v = ParseScan(rows, ctx);
    if (!v.ok()) return v.status();
    return std::shared_ptr<const Observation>(
        std::make_shared<const Part<T>>(std::move(*v)));
  }
  std::string Statement(const CollectorContext& ctx) const final {
    return ActivityScanStatement(ctx, T::kName);
  }
  ParameterizedStatement Parameterized(
      const CollectorContext& ctx) const final {
    return ActivityScanParameterized(ctx, T::kName);
  }
  std::vector<std::string> Arguments(const CollectorContext& ctx) const final {
    return ActivityScanArguments(ctx);
  }

 protected:
  // The part's observation of the scan's rows in a poll with `ctx`; by
  // default ParseRows(rows), for a part that needs no context.
  virtual Result<T> ParseScan(const ResultSet& rows,
                              const CollectorContext& /*ctx*/) const {
    return this->ParseRows(rows);
  }
};

// The rows of `rs` that belong to `part`: those whose "part" column names
// it, or every row of a result that has no such column (a result holding
// that part alone).
ResultSet RowsOfPart(const ResultSet& rs, std::string_view part);

// The scan's rows of client backends, read in place: the rows of part
// "activity" (every row of a result without a "part" column) whose
// "client" is not false (every one without that column), and the
// applications kept apart, as every part that labels by application folds
// them: at most ctx.max_applications, the pinned ones first, then by
// connections (most first), then by name (byte order); the rest fold into
// "(other)".
class ScanClients {
 public:
  // Fails (naming `collector` and the column) on a missing or malformed
  // "application" or "connections" column.
  static Result<ScanClients> Read(const ResultSet& rs,
                                  const CollectorContext& ctx,
                                  std::string_view collector);
  // The same, read once per result and folding (ctx.max_applications,
  // ctx.pinned_applications) and shared by the collectors that read it
  // (ResultSet::Memo): activity and wait_events fold the same rows alike.
  static Result<std::shared_ptr<const ScanClients>> Shared(
      const ResultSet& rs, const CollectorContext& ctx,
      std::string_view collector);
  // Row indices into the result, and each one's connections.
  const std::vector<size_t>& rows() const { return rows_; }
  int64_t connections(size_t i) const { return connections_[i]; }
  // The row's application_name ("" for none), a view into the result.
  std::string_view application(size_t i) const { return applications_[i]; }
  bool Kept(std::string_view application) const {
    return std::binary_search(kept_.begin(), kept_.end(), application);
  }
  // The label of `application`: "(other)" if folded, "(unset)" if empty.
  std::string Label(std::string_view application) const;
  // Distinct application names folded into "(other)".
  int64_t folded() const { return folded_; }

 private:
  std::vector<size_t> rows_;
  std::vector<int64_t> connections_;
  std::vector<std::string_view> applications_;
  std::vector<std::string_view> kept_;  // sorted
  int64_t folded_ = 0;
};

// The scan's backends other than clients (rows of part "activity" whose
// "client" is false), counted per backend_type ("unknown" for NULL).
// Nullopt for a result without a "client" column, or with a "backends"
// column (counts per backend_type already, as before the scan).
Result<std::optional<std::vector<std::pair<std::string, int64_t>>>>
OtherBackendsOf(const ResultSet& rs);

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_POSTGRES_ACTIVITY_SCAN_H_
