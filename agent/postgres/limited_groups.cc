#include "postgres/limited_groups.h"

#include <algorithm>
#include <unordered_map>

#include "postgres/activity_scan.h"

namespace pgconn::detail {

namespace {

// Groups folded already: one row per group, a NULL name the folded rest.
Status ParseFolded(std::string_view collector, const ResultSet& rs,
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

// The scan's rows: see ParseLimitedGroups.
Status ParseScan(std::string_view collector, std::string_view id_column,
                 bool connected_or_limited, const ResultSet& rs,
                 std::vector<LimitedGroup>* out) {
  const int c_part = rs.ColumnIndex("part");
  const int c_client = rs.ColumnIndex("client");
  const int c_id = rs.ColumnIndex(id_column);
  const int c_conn = rs.ColumnIndex("connections");
  const int c_oid = rs.ColumnIndex("oid");
  const int c_name = rs.ColumnIndex("name");
  const int c_limit = rs.ColumnIndex("connection_limit");
  const int c_max = rs.ColumnIndex("max_names");
  if (c_part < 0 || c_client < 0 || c_id < 0 || c_conn < 0 || c_name < 0 ||
      c_limit < 0 || c_max < 0) {
    return Status::InvalidData(
        std::string(collector) + ": missing part, client, " +
        std::string(id_column) +
        ", connections, name, connection_limit or max_names column");
  }
  // Client backends per oid.
  std::unordered_map<std::string_view, int64_t> per_oid;
  for (size_t r = 0; r < rs.size(); ++r) {
    if (rs.cell(r, c_part) != "activity" || rs.cell(r, c_client) != "t") {
      continue;
    }
    const auto id = rs.cell(r, c_id);
    if (!id) continue;
    auto conn = CellInt64At(rs, r, c_conn, 0);
    if (!conn.ok()) return conn.status().WithContext(collector);
    per_oid[*id] += *conn;
  }
  std::vector<LimitedGroup> named;
  int64_t max_names = 0;
  for (size_t r = 0; r < rs.size(); ++r) {
    if (rs.cell(r, c_part) != collector) continue;
    const auto oid = rs.cell(r, c_oid);
    if (!oid) continue;
    auto limit = CellInt64At(rs, r, c_limit, -1);
    if (!limit.ok()) return limit.status().WithContext(collector);
    auto max = CellInt64At(rs, r, c_max, 0);
    if (!max.ok()) return max.status().WithContext(collector);
    max_names = *max;
    auto it = per_oid.find(*oid);
    const int64_t n = it == per_oid.end() ? 0 : it->second;
    if (connected_or_limited && n == 0 && *limit < 0) continue;
    LimitedGroup g;
    g.name = std::string(rs.cell(r, c_name).value_or(""));
    g.connections = n;
    if (*limit >= 0) g.limit = *limit;
    named.push_back(std::move(g));
  }
  std::sort(named.begin(), named.end(), [](const auto& x, const auto& y) {
    if (x.connections != y.connections) return x.connections > y.connections;
    return x.name < y.name;
  });
  out->clear();
  std::optional<LimitedGroup> other;
  for (size_t i = 0; i < named.size(); ++i) {
    if (static_cast<int64_t>(i) < max_names || named[i].limit) {
      out->push_back(std::move(named[i]));
      continue;
    }
    if (!other) other = LimitedGroup{std::string(kOtherLabel), 0, {}};
    other->connections += named[i].connections;
  }
  if (other) out->push_back(std::move(*other));
  return Status::Ok();
}

}  // namespace

Status ParseLimitedGroups(std::string_view collector,
                          std::string_view id_column, bool connected_or_limited,
                          const ResultSet& rs, std::vector<LimitedGroup>* out) {
  if (rs.ColumnIndex("oid") >= 0) {
    return ParseScan(collector, id_column, connected_or_limited, rs, out);
  }
  return ParseFolded(collector, RowsOfPart(rs, collector), out);
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
