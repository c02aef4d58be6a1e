// The one read of pg_stat_activity per poll. The activity, databases, users
// and backends collectors each own their part of it (a parser and metric
// families), but their statements are one and the same: the view is
// materialized once and every part aggregates that copy. The framework runs
// identical statements once (RunCollectors), so a poll reads the view once
// whichever of these collectors are on, and a collector switched off leaves
// its part out of the statement.
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

// The statement of collector `self` (one of the parts): its own part and
// those of the other part collectors running in the same poll
// (ctx.collectors). Each result row says in column "part" which part it
// belongs to; the columns are the union of the parts' columns.
std::string ActivityScanStatement(const CollectorContext& ctx,
                                  std::string_view self);

// The rows of `rs` that belong to `part`: those whose "part" column names
// it, or every row of a result that has no such column (a result holding
// that part alone).
ResultSet RowsOfPart(const ResultSet& rs, std::string_view part);

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_POSTGRES_ACTIVITY_SCAN_H_
