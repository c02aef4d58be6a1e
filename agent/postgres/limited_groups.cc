#include "postgres/limited_groups.h"

#include <algorithm>

namespace pgconn::detail {

std::string FoldedLimitedGroupsStatement(std::string_view per_name,
                                         int max_names) {
  const std::string n = std::to_string(max_names);
  return "WITH g AS (" + std::string(per_name) +
         "), r AS ("
         " SELECT name, connection_limit, connections,"
         " (row_number() OVER (ORDER BY connections DESC, name) <= " +
         n +
         " OR connection_limit >= 0) AS kept FROM g"
         ")"
         " SELECT CASE WHEN kept THEN name END AS name,"
         " CASE WHEN kept THEN connection_limit END AS connection_limit,"
         " sum(connections) AS connections"
         " FROM r GROUP BY 1, 2";
}

Status ParseLimitedGroups(std::string_view collector, const ResultSet& rs,
                          std::vector<LimitedGroup>* out) {
  const int c_name = rs.ColumnIndex("name");
  const int c_limit = rs.ColumnIndex("connection_limit");
  const int c_conn = rs.ColumnIndex("connections");
  if (c_name < 0 || c_conn < 0) {
    return Status::InvalidData(std::string(collector) +
                               ": missing name or connections column");
  }
  out->clear();
  for (const auto& row : rs.rows()) {
    LimitedGroup g;
    g.name = CellText(row, c_name, kOtherLabel);
    auto conn = CellInt64(rs, row, c_conn, 0);
    if (!conn.ok()) return conn.status().WithContext(collector);
    g.connections = *conn;
    auto limit = CellInt64(rs, row, c_limit, -1);
    if (!limit.ok()) return limit.status().WithContext(collector);
    if (*limit >= 0) g.limit = *limit;
    out->push_back(std::move(g));
  }
  return Status::Ok();
}

std::optional<double> LimitUtilization(const LimitedGroup& group) {
  if (!group.limit.has_value()) return std::nullopt;
  if (*group.limit == 0) return 1.0;
  return static_cast<double>(group.connections) /
         static_cast<double>(*group.limit);
}

void EmitLimitedGroups(const Labels& t, const std::vector<LimitedGroup>& gs,
                       std::string_view label, std::string_view noun,
                       MetricsWriter* w) {
  const std::string base = "pgconn_" + std::string(noun);
  std::vector<const LimitedGroup*> sorted;
  for (const auto& g : gs) sorted.push_back(&g);
  std::sort(sorted.begin(), sorted.end(),
            [](auto* a, auto* b) { return a->name < b->name; });
  const std::string what = noun == "database"
                               ? "database (pg_database.datconnlimit)"
                               : "role (pg_roles.rolconnlimit)";
  // Names and help texts built once, not per sample.
  const std::string connections = base + "_connections";
  const std::string connections_help =
      "Client backends connected per " + std::string(noun) +
      "; names beyond the configured maximum are folded into \"(other)\".";
  for (const LimitedGroup* g : sorted) {
    w->Gauge(connections, connections_help, WithLabel(t, label, g->name),
             static_cast<double>(g->connections));
  }
  const std::string limit = base + "_connection_limit";
  const std::string limit_help =
      "Connection limit of the " + what + "; only where one is set.";
  for (const LimitedGroup* g : sorted) {
    if (!g->limit) continue;
    w->Gauge(limit, limit_help, WithLabel(t, label, g->name),
             static_cast<double>(*g->limit));
  }
  const std::string utilization = base + "_connection_utilization_ratio";
  const std::string utilization_help =
      "Client backends of the " + std::string(noun) +
      " divided by its connection limit; only where a limit is set (1 for a "
      "limit of 0).";
  for (const LimitedGroup* g : sorted) {
    auto u = LimitUtilization(*g);
    if (!u) continue;
    w->Gauge(utilization, utilization_help, WithLabel(t, label, g->name), *u);
  }
}

}  // namespace pgconn::detail
