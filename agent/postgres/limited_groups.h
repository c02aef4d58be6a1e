// Shared by the databases and users collectors: both report client
// connections per name against an optional limit, and fold the long tail.
#ifndef PGCONN_AGENT_POSTGRES_LIMITED_GROUPS_H_
#define PGCONN_AGENT_POSTGRES_LIMITED_GROUPS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expose/metrics_writer.h"
#include "pgconn/result_set.h"
#include "pgconn/status.h"
#include "postgres/observations.h"

namespace pgconn::detail {

// `per_name` is a SELECT returning (name, connection_limit, connections),
// one row per name. The result keeps the `max_names` largest by connections
// and every name with a limit; the rest become one row with a NULL name.
std::string FoldedLimitedGroupsStatement(std::string_view per_name,
                                         int max_names);

// Parses the result of FoldedLimitedGroupsStatement. A negative limit means
// none (PostgreSQL's -1; -2 marks an invalid database in 16+).
Status ParseLimitedGroups(std::string_view collector, const ResultSet& rs,
                          std::vector<LimitedGroup>* out);

// connections / limit; nullopt without a limit. A limit of 0 admits nobody,
// so it reads as full: 1.
std::optional<double> LimitUtilization(const LimitedGroup& group);

// pgconn_<noun>_connections, _connection_limit and
// _connection_utilization_ratio, labelled `label`, sorted by name.
void EmitLimitedGroups(const Labels& target,
                       const std::vector<LimitedGroup>& groups,
                       std::string_view label, std::string_view noun,
                       MetricsWriter* w);

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_POSTGRES_LIMITED_GROUPS_H_
