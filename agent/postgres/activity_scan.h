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

#include <string>
#include <string_view>

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

// A collector of one part of the scan: its statement is the scan's.
template <typename T>
class ScanPartCollector : public CollectorOf<T> {
 public:
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
};

// The rows of `rs` that belong to `part`: those whose "part" column names
// it, or every row of a result that has no such column (a result holding
// that part alone).
ResultSet RowsOfPart(const ResultSet& rs, std::string_view part);

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_POSTGRES_ACTIVITY_SCAN_H_
