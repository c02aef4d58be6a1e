#include "postgres/activity_scan.h"

#include <algorithm>
#include <array>
#include <map>
#include <utility>
#include <vector>

#include "postgres/client_backends.h"
#include "postgres/limited_groups.h"
#include "postgres/sql_literal.h"

namespace pgconn::detail {
namespace {

// The result's columns: each part fills its own and leaves the others NULL.
struct Column {
  std::string_view name;
  std::string_view type;
};
constexpr std::array<Column, 17> kColumns = {{
    {"part", "text"},
    // activity
    {"application", "text"},
    {"state", "text"},
    {"connections", "bigint"},  // and databases, users
    {"lock_waiting", "bigint"},
    {"oldest_state_seconds", "float8"},
    {"oldest_transaction_seconds", "float8"},
    {"client_addresses", "bigint"},
    {"per_application", "int"},
    {"folded_applications", "bigint"},
    {"own_connections", "bigint"},     // pgconn's own session
    {"opened_connections", "bigint"},  // backend_start > previous scan
    {"scan_time", "bigint"},           // now() in µs, for the next scan
    // databases, users
    {"name", "text"},
    {"connection_limit", "int"},
    // backends
    {"backend_type", "text"},
    {"backends", "bigint"},
}};

// In registry order, so that every part collector builds the same text.
constexpr std::array<std::string_view, 4> kParts = {
    kActivityPart, kDatabasesPart, kUsersPart, kBackendsPart};

using Exprs = std::map<std::string_view, std::string>;

// One branch of the UNION ALL: `exprs` for its columns, NULL for the rest.
std::string Branch(std::string_view part, const Exprs& exprs,
                   const std::string& rest) {
  // Appends only: GCC 12 at -O3 reports false -Werror=restrict on a
  // literal + string&& and on short assignments here (GCC bug 105651).
  std::string sql = "SELECT ";
  for (const Column& c : kColumns) {
    if (c.name != "part") sql += ", ";
    if (c.name == "part") {
      sql += '\'';
      sql += part;
      sql += '\'';
    } else if (auto it = exprs.find(c.name); it != exprs.end()) {
      sql += '(';
      sql += it->second;
      sql += ')';
    } else {
      sql += "NULL";
    }
    sql += "::";
    sql += c.type;
    sql += " AS ";
    sql += c.name;
  }
  sql += ' ';
  sql += rest;
  return sql;
}

// "app IN ('a', 'b') DESC, " when names are pinned: ranks them first, so
// the folding keeps them whatever their size.
std::string PinnedFirst(const std::vector<std::string>& pinned) {
  if (pinned.empty()) return "";
  std::string list;
  for (const std::string& name : pinned) {
    if (!list.empty()) list += ", ";
    list += SqlLiteral(name);
  }
  return "app IN (" + list + ") DESC, ";
}

// The previous scan's server time, exactly (integer microseconds); on the
// first scan none, so nothing counts as opened (NULL compares as unknown).
// With `backend_start <= now()` the scans count disjoint intervals, so a
// connection is counted once however many scans see it.
std::string PreviousScanTime(const CollectorContext& ctx) {
  if (!ctx.previous_scan_time_us) return "NULL::timestamptz";
  return "(timestamptz 'epoch' + " +
         std::to_string(*ctx.previous_scan_time_us) +
         " * interval '1 microsecond')";
}

std::string Age(std::string_view column) {
  return "greatest(coalesce(extract(epoch FROM now() - min(" +
         std::string(column) + ")), 0), 0)";
}

// Client backends by application and state, and per application (its
// distinct client addresses). Aggregated first, then ranked and folded:
// the folding works on the aggregated rows (at most a few per distinct
// name), never per backend, and joins nothing, so the cost stays linear in
// backends whatever the number of names.
//   grouping_set 3: one row per application, ranked by its connections;
//   grouping_set 1: per application and state;
//   grouping_set 2: per application and client address.
// Only the per-application rows are ranked, and only the first
// max_applications of them are wanted: a bounded (top-N) sort of one row
// per name, then a hashed membership test; no window sorts every grouped
// row (EXPLAIN: two such sorts were most of the cost with many names).
std::string ActivityCtes(const CollectorContext& ctx) {
  return ", grouped AS ("
         " SELECT app, state, addr, GROUPING(state, addr) AS grouping_set,"
         " count(*) AS connections,"
         " count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock_waiting,"
         " count(*) FILTER (WHERE pid = pg_backend_pid()) AS own_connections,"
         " count(*) FILTER (WHERE backend_start > " +
         PreviousScanTime(ctx) +
         " AND backend_start <= now()) AS opened_connections,"
         " min(state_change) AS state_change, min(xact_start) AS xact_start"
         " FROM a WHERE client"
         " GROUP BY GROUPING SETS ((app), (app, state), (app, addr))"
         "), kept AS ("
         " SELECT app FROM grouped WHERE grouping_set = 3 ORDER BY " +
         PinnedFirst(ctx.pinned_applications) + "connections DESC, app LIMIT " +
         std::to_string(std::max(ctx.max_applications, 0)) +
         "), ranked AS ("
         " SELECT grouped.*, app IN (SELECT app FROM kept) AS kept"
         " FROM grouped"
         ")";
}

std::string ActivityBranch() {
  // application NULL marks the folded group ('' is a real, empty name); a
  // NULL address (a row we may not see) counts as none.
  return Branch(
      kActivityPart,
      {{"application", "CASE WHEN kept THEN app END"},
       {"state", "state"},
       {"connections", "sum(connections)"},
       {"lock_waiting", "sum(lock_waiting)"},
       {"own_connections", "sum(own_connections)"},
       {"opened_connections", "sum(opened_connections)"},
       {"scan_time", "round(extract(epoch FROM now()) * 1000000)"},
       {"oldest_state_seconds", Age("state_change")},
       {"oldest_transaction_seconds", Age("xact_start")},
       {"client_addresses", "count(DISTINCT addr)"},
       {"per_application", "grouping_set = 2"},
       {"folded_applications",
        "SELECT count(*) FROM ranked WHERE grouping_set = 3 AND NOT kept"}},
      "FROM ranked WHERE grouping_set IN (1, 2)"
      " GROUP BY 2, 3, grouping_set");
}

// Databases and roles: the aggregate by oid is joined to the catalog (both
// small), then the long tail is folded as before.
std::string LimitedBranch(std::string_view part, const std::string& per_name,
                          int max_names) {
  return Branch(part,
                {{"name", "name"},
                 {"connection_limit", "connection_limit"},
                 {"connections", "connections"}},
                "FROM (" + FoldedLimitedGroupsStatement(per_name, max_names) +
                    ") AS " + std::string(part));
}

std::string DatabasesBranch(const CollectorContext& ctx) {
  return LimitedBranch(
      kDatabasesPart,
      "SELECT d.datname AS name, d.datconnlimit AS connection_limit,"
      " coalesce(c.n, 0) AS connections FROM pg_database d LEFT JOIN"
      " (SELECT datid, count(*) AS n FROM a WHERE client GROUP BY datid) c"
      " ON c.datid = d.oid WHERE d.datallowconn",
      ctx.max_databases);
}

std::string UsersBranch(const CollectorContext& ctx) {
  return LimitedBranch(
      kUsersPart,
      "SELECT r.rolname AS name, r.rolconnlimit AS connection_limit,"
      " coalesce(c.n, 0) AS connections FROM pg_roles r LEFT JOIN"
      " (SELECT usesysid, count(*) AS n FROM a WHERE client GROUP BY"
      " usesysid) c ON c.usesysid = r.oid"
      " WHERE r.rolcanlogin AND (c.n > 0 OR r.rolconnlimit >= 0)",
      ctx.max_users);
}

std::string BackendsBranch() {
  return Branch(kBackendsPart,
                {{"backend_type", "coalesce(backend_type, 'unknown')"},
                 {"backends", "count(*)"}},
                "FROM a WHERE NOT client"
                " GROUP BY coalesce(backend_type, 'unknown')");
}

}  // namespace

std::string ActivityScanStatement(const CollectorContext& ctx,
                                  std::string_view self) {
  auto wanted = [&](std::string_view part) {
    return part == self ||
           std::find(ctx.collectors.begin(), ctx.collectors.end(), part) !=
               ctx.collectors.end();
  };
  // - a Unix-socket client (client_port -1) counts as one address;
  // - `client` is never NULL (ClientBackendCondition), so NOT client is
  //   every other backend.
  std::string sql =
      "WITH a AS MATERIALIZED ("
      " SELECT pid, coalesce(application_name, '') AS app,"
      " coalesce(state, 'unknown') AS state,"
      " CASE WHEN client_port = -1 THEN 'local'"
      " ELSE host(client_addr) END AS addr,"
      " wait_event_type, state_change, xact_start, backend_start, datid,"
      " usesysid,"
      " backend_type, " +
      ClientBackendCondition() +
      " AS client"
      " FROM pg_stat_activity"
      ")";
  if (wanted(kActivityPart)) sql += ActivityCtes(ctx);
  std::vector<std::string> branches;
  for (std::string_view part : kParts) {
    if (!wanted(part)) continue;
    if (part == kActivityPart) branches.push_back(ActivityBranch());
    if (part == kDatabasesPart) branches.push_back(DatabasesBranch(ctx));
    if (part == kUsersPart) branches.push_back(UsersBranch(ctx));
    if (part == kBackendsPart) branches.push_back(BackendsBranch());
  }
  for (size_t i = 0; i < branches.size(); ++i) {
    sql += i == 0 ? " " : " UNION ALL ";
    sql += branches[i];
  }
  return sql;
}

ResultSet RowsOfPart(const ResultSet& rs, std::string_view part) {
  const int c_part = rs.ColumnIndex("part");
  if (c_part < 0) return rs;
  ResultSet out(rs.columns(), {});
  for (const auto& row : rs.rows()) {
    if (row[c_part].has_value() && *row[c_part] == part) out.AddRow(row);
  }
  return out;
}

}  // namespace pgconn::detail
