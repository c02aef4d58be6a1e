#include "postgres/activity_scan.h"

#include <algorithm>
#include <array>
#include <map>
#include <utility>
#include <vector>

#include "postgres/limited_groups.h"

namespace pgconn::detail {
namespace {

// The result's columns: each part fills its own and leaves the others NULL.
struct Column {
  std::string_view name;
  std::string_view type;
};
constexpr std::array<Column, 15> kColumns = {{
    {"part", "text"},
    // activity: one row per application, state and client address
    {"application", "text"},
    {"state", "text"},
    {"client_address", "text"},
    {"connections", "bigint"},  // and databases, users
    {"lock_waiting", "bigint"},
    {"oldest_state_seconds", "float8"},
    {"oldest_transaction_seconds", "float8"},
    {"own_connections", "bigint"},  // pgconn's own session
    {"recent_backends", "text"},    // identities that may be new
    {"scan_time", "bigint"},        // now() in µs, for the next scan
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

// now() - `column` in seconds, 0 when NULL; date_part is float8 (extract
// would compute a numeric for every row).
std::string Age(std::string_view column) {
  std::string sql = "greatest(coalesce(date_part('epoch', now() - ";
  sql += column;
  sql += "), 0), 0)";
  return sql;
}

// Client backends: the scan's groups as they are, one row per
// application, state, client address, database and role (the collector
// sums them). Ranking the applications and folding the long tail into
// "(other)" is left to the collector (activity_collector.cc): it works on
// these rows, so nothing here grows faster than the backends, and no sort
// or second aggregation runs on the server. The scan time is computed
// once (an InitPlan), not per row, and sent once, on the row of the
// agent's own session (always there: a session sees itself).
std::string ActivityBranch() {
  return Branch(kActivityPart,
                {{"application", "app"},
                 {"state", "state"},
                 {"client_address", "addr"},
                 {"connections", "connections"},
                 {"lock_waiting", "lock_waiting"},
                 {"own_connections", "own_connections"},
                 {"recent_backends", "recent"},
                 {"scan_time",
                  "CASE WHEN own_connections > 0 THEN"
                  " (SELECT round(extract(epoch FROM now()) * 1000000)) END"},
                 {"oldest_state_seconds", Age("state_change")},
                 {"oldest_transaction_seconds", Age("xact_start")}},
                "FROM g WHERE client");
}

// Databases and roles: the scan's groups summed by oid and joined to the
// catalog (both small), then the long tail is folded as before.
std::string LimitedBranch(std::string_view part, const std::string& per_name,
                          int max_names) {
  std::string rest = "FROM (";
  rest += FoldedLimitedGroupsStatement(per_name, max_names);
  rest += ") AS ";
  rest += part;
  return Branch(part,
                {{"name", "name"},
                 {"connection_limit", "connection_limit"},
                 {"connections", "connections"}},
                rest);
}

std::string DatabasesBranch(const CollectorContext& ctx) {
  return LimitedBranch(
      kDatabasesPart,
      "SELECT d.datname AS name, d.datconnlimit AS connection_limit,"
      " coalesce(c.n, 0) AS connections FROM pg_database d LEFT JOIN"
      " (SELECT datid, sum(connections) AS n FROM g WHERE client"
      " GROUP BY datid) c ON c.datid = d.oid WHERE d.datallowconn",
      ctx.max_databases);
}

std::string UsersBranch(const CollectorContext& ctx) {
  return LimitedBranch(
      kUsersPart,
      "SELECT r.rolname AS name, r.rolconnlimit AS connection_limit,"
      " coalesce(c.n, 0) AS connections FROM pg_roles r LEFT JOIN"
      " (SELECT usesysid, sum(connections) AS n FROM g WHERE client GROUP BY"
      " usesysid) c ON c.usesysid = r.oid"
      " WHERE r.rolcanlogin AND (c.n > 0 OR r.rolconnlimit >= 0)",
      ctx.max_users);
}

std::string BackendsBranch() {
  return Branch(kBackendsPart,
                {{"backend_type", "coalesce(backend_type, 'unknown')"},
                 {"backends", "sum(connections)"}},
                "FROM g WHERE NOT client"
                " GROUP BY coalesce(backend_type, 'unknown')");
}

// Since when a client backend may be new to the agent: the previous scan's
// time (this scan's before the first), less the longest a backend can take
// from its fork (backend_start) to its first appearance in the view, after
// authentication: authentication_timeout bounds the wait for the startup
// packet and, again, authentication itself; 10 s more for the rest of the
// start-up (catalog caches, a lock on the database). A scalar subquery, so
// it is computed once (an InitPlan), not per backend.
std::string RecentSince(std::string_view previous_scan) {
  std::string sql = "(SELECT coalesce(";
  sql += previous_scan;
  sql +=
      ", now()) - (2 * current_setting('authentication_timeout')::interval"
      " + interval '10 seconds'))";
  return sql;
}

// The statement, with `previous_scan` the SQL timestamptz of the previous
// scan's server time (NULL before the first). New sessions are found by
// identity, not by a window on backend_start: a session whose login
// overlapped the previous scan started (backend_start) before it but was
// not in the view yet. So each group sends the identities ("pid:µs of
// backend_start", which no other backend shares) of its client backends
// that may be new: those past authentication (18 shows the ones still
// authenticating, state "starting") that started after RecentSince(); the
// opened stage (opened_stage.h) counts those it did not see in the
// previous scan. Older ones were in the view at the previous scan already.
// Only those identities travel: at most the backends started within a
// poll interval plus RecentSince()'s margin, never more than there are.
std::string Scan(const CollectorContext& ctx, std::string_view self,
                 std::string_view previous_scan) {
  auto wanted = [&](std::string_view part) {
    return part == self ||
           std::find(ctx.collectors.begin(), ctx.collectors.end(), part) !=
               ctx.collectors.end();
  };
  // g: pg_stat_get_activity(NULL), the function behind pg_stat_activity,
  // read once and aggregated at once by everything any part tells apart
  // (the counts as int, so that the parts' sums are bigint, not numeric);
  // without the view's joins to pg_database and pg_authid, which would run
  // per backend (the parts join the catalog to the few aggregated rows).
  // - `client` is ClientBackendCondition() on the function's columns, and
  //   never NULL, so NOT client is every other backend;
  // - a Unix-socket client (client_port -1) counts as one address; the
  //   address is grouped as inet and formatted once per group.
  std::string sql =
      "WITH g AS ("
      " SELECT coalesce(application_name, '') AS app,"
      " coalesce(state, 'unknown') AS state,"
      " CASE WHEN client_port = -1 THEN 'local'"
      " ELSE host(client_addr) END AS addr,"
      " datid, usesysid, backend_type, ";
  sql += ClientBackendCondition();
  sql +=
      " AS client,"
      " count(*)::int AS connections,"
      " count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS lock_waiting,"
      " count(*) FILTER (WHERE pid = pg_backend_pid())::int AS own_connections,"
      " string_agg(pid || ':' ||"
      " (extract(epoch FROM backend_start) * 1000000)::bigint, ' ')"
      " FILTER (WHERE backend_type = 'client backend'"
      " AND state IS DISTINCT FROM 'starting' AND backend_start > ";
  sql += RecentSince(previous_scan);
  sql +=
      ") AS recent,"
      " min(state_change) AS state_change, min(xact_start) AS xact_start"
      " FROM pg_stat_get_activity(NULL)"
      " GROUP BY app, state, client_addr, client_port = -1, datid, usesysid,"
      " backend_type)";
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

// The previous scan's server time, exactly: `microseconds` since the Unix
// epoch (an integer literal or a parameter) as timestamptz.
std::string PreviousScan(std::string_view microseconds) {
  std::string sql = "(timestamptz 'epoch' + ";
  sql += microseconds;
  sql += " * interval '1 microsecond')";
  return sql;
}

}  // namespace

std::string ClientBackendCondition() {
  // Written so that it is never NULL: callers may negate it.
  return "(backend_type IS NOT DISTINCT FROM 'client backend' OR"
         " (backend_type IS NULL AND datid IS NOT NULL AND"
         " usesysid IS NOT NULL))";
}

std::string ActivityScanStatement(const CollectorContext& ctx,
                                  std::string_view self) {
  if (!ctx.previous_scan_time_us) return Scan(ctx, self, "NULL::timestamptz");
  return Scan(ctx, self,
              PreviousScan(std::to_string(*ctx.previous_scan_time_us)));
}

ParameterizedStatement ActivityScanParameterized(const CollectorContext& ctx,
                                                 std::string_view self) {
  ParameterizedStatement p;
  p.sql = Scan(ctx, self, PreviousScan("$1"));
  p.parameter_types = {"bigint"};
  p.arguments = ActivityScanArguments(ctx);
  return p;
}

std::vector<std::string> ActivityScanArguments(const CollectorContext& ctx) {
  return {ctx.previous_scan_time_us ? std::to_string(*ctx.previous_scan_time_us)
                                    : std::string("NULL")};
}

ResultSet RowsOfPart(const ResultSet& rs, std::string_view part) {
  const int c_part = rs.ColumnIndex("part");
  if (c_part < 0) return rs;
  // Read in place: only this part's rows are copied (the activity part's,
  // most of the result, are not).
  ResultSet out(rs.columns(), {});
  const size_t columns = rs.columns().size();
  for (size_t r = 0; r < rs.size(); ++r) {
    if (rs.cell(r, c_part) != part) continue;
    ResultSet::Row row;
    row.reserve(columns);
    for (size_t c = 0; c < columns; ++c) {
      const auto text = rs.cell(r, static_cast<int>(c));
      row.emplace_back(text ? std::optional<std::string>(*text) : std::nullopt);
    }
    out.AddRow(std::move(row));
  }
  return out;
}

}  // namespace pgconn::detail
