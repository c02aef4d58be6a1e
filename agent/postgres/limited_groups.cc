#include "postgres/limited_groups.h"

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

}  // namespace pgconn::detail
