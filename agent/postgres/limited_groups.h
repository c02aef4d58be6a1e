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

// A negative limit means none (PostgreSQL's -1; -2 marks an invalid
// database in 16+).
//
// From the scan (activity_scan.h): the client backends' rows (part
// "activity") summed by `id_column` (datid, usesysid), joined to the
// catalog's rows of part `collector` (oid, name, connection_limit,
// max_names). Every catalog row is listed, or with `connected_or_limited`
// only those connected or with a limit (a cluster may have thousands of
// idle roles). The max_names largest by connections (then by name, in byte
// order: the catalog's names sort in the "C" collation) and every name with
// a limit are kept; the rest are summed into one group "(other)" without a
// limit. A result without an "oid" column holds groups folded already, one
// row per (name, connection_limit, connections), a NULL name the folded
// rest, as the statements before the scan returned them.
Status ParseLimitedGroups(std::string_view collector,
                          std::string_view id_column, bool connected_or_limited,
                          const ResultSet& rs, std::vector<LimitedGroup>* out);

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
