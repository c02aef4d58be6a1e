#include "postgres/activity_scan.h"

#include <algorithm>
#include <array>
#include <map>
#include <utility>
#include <vector>

#include "postgres/observations.h"

namespace pgconn::detail {
namespace {

// The result's columns: each part fills its own and leaves the others NULL.
struct Column {
  std::string_view name;
  std::string_view type;
};
constexpr std::array<Column, 20> kColumns = {{
    {"part", "text"},
    // activity: the backends, one row per group of backends that no part
    // tells apart (every backend, clients or not)
    {"application", "text"},
    {"state", "text"},
    {"client_address", "text"},
    {"datid", "oid"},
    {"usesysid", "oid"},
    {"backend_type", "text"},
    {"client", "bool"},  // ClientBackendCondition()
    {"wait_event_type", "text"},
    {"connections", "bigint"},
    {"lock_waiting", "bigint"},
    {"oldest_state_seconds", "float8"},
    {"oldest_transaction_seconds", "float8"},
    {"own_connections", "bigint"},  // pgconn's own session
    {"recent_backends", "text"},    // identities that may be new
    {"scan_time", "bigint"},        // now() in µs, for the next scan
    // databases, users: the catalog's names and limits, by oid
    {"oid", "oid"},
    {"name", "text"},
    {"connection_limit", "int"},
    {"max_names", "int"},  // the names kept apart; the rest fold
}};

using Exprs = std::vector<std::pair<std::string_view, std::string>>;

// One branch of the UNION ALL: `exprs` for its columns, NULL for the rest.
std::string Branch(std::string_view part, const Exprs& exprs,
                   std::string_view rest) {
  // Appends only: GCC 12 at -O3 reports false -Werror=restrict on a
  // literal + string&& and on short assignments here (GCC bug 105651).
  std::string sql = "SELECT ";
  for (const Column& c : kColumns) {
    if (c.name != "part") sql += ", ";
    auto it = std::find_if(exprs.begin(), exprs.end(),
                           [&](const auto& e) { return e.first == c.name; });
    if (c.name == "part") {
      sql += '\'';
      sql += part;
      sql += '\'';
    } else if (it != exprs.end()) {
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

// now() - min(`column`) in seconds, 0 when NULL; date_part is float8
// (extract would compute a numeric for every group).
std::string Age(std::string_view column) {
  std::string sql = "greatest(coalesce(date_part('epoch', now() - min(";
  sql += column;
  sql += ")), 0), 0)";
  return sql;
}

// The catalog's names and limits, every row (the collector sums the
// backends' rows by oid, keeps the largest and folds the rest): a few rows
// per database or login role, read from the catalog alone, so nothing is
// joined to the backends on the server.
std::string CatalogBranch(std::string_view part, std::string_view name,
                          std::string_view limit, std::string_view from,
                          int max_names) {
  return Branch(part,
                {{"oid", "oid"},
                 {"name", std::string(name)},
                 {"connection_limit", std::string(limit)},
                 {"max_names", std::to_string(max_names)}},
                from);
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
  // The backends: pg_stat_get_activity(NULL), the function behind
  // pg_stat_activity, read once and aggregated at once by everything any
  // part tells apart; without the view's joins to pg_database and
  // pg_authid, which would run per backend. Every part sums these groups
  // in the agent (activity_scan.h), so the server neither materializes
  // them nor aggregates them again.
  // - `client` is ClientBackendCondition(), never NULL;
  // - a Unix-socket client (client_port -1) counts as one address; the
  //   address is grouped as inet and formatted once per group;
  // - the scan time is computed once (an InitPlan), not per row, and sent
  //   once, on the row of the agent's own session (always there: a
  //   session sees itself).
  const std::string own = "count(*) FILTER (WHERE pid = pg_backend_pid())";
  std::string recent =
      "string_agg(pid || ':' ||"
      " (extract(epoch FROM backend_start) * 1000000)::bigint, ' ')"
      " FILTER (WHERE backend_type = 'client backend'"
      " AND state IS DISTINCT FROM 'starting' AND backend_start > ";
  recent += RecentSince(previous_scan);
  recent += ')';
  std::string sql = Branch(
      kActivityPart,
      {{"application", "coalesce(application_name, '')"},
       {"state", "coalesce(state, 'unknown')"},
       {"client_address",
        "CASE WHEN client_port = -1 THEN 'local' ELSE host(client_addr) END"},
       {"datid", "datid"},
       {"usesysid", "usesysid"},
       {"backend_type", "backend_type"},
       {"client", ClientBackendCondition()},
       {"wait_event_type", "wait_event_type"},
       {"connections", "count(*)"},
       {"lock_waiting", "count(*) FILTER (WHERE wait_event_type = 'Lock')"},
       {"oldest_state_seconds", Age("state_change")},
       {"oldest_transaction_seconds", Age("xact_start")},
       {"own_connections", own},
       {"recent_backends", recent},
       {"scan_time",
        "CASE WHEN " + own +
            " > 0 THEN"
            " (SELECT round(extract(epoch FROM now()) * 1000000)) END"}},
      "FROM pg_stat_get_activity(NULL) GROUP BY application_name, state,"
      " client_addr, client_port = -1, datid, usesysid, backend_type,"
      " wait_event_type");
  if (wanted(kDatabasesPart)) {
    sql += " UNION ALL ";
    sql +=
        CatalogBranch(kDatabasesPart, "datname", "datconnlimit",
                      "FROM pg_database WHERE datallowconn", ctx.max_databases);
  }
  if (wanted(kUsersPart)) {
    sql += " UNION ALL ";
    sql += CatalogBranch(kUsersPart, "rolname", "rolconnlimit",
                         "FROM pg_roles WHERE rolcanlogin", ctx.max_users);
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

namespace {

// Whether row `r` is one of the scan's backends (part "activity"), and a
// client backend.
bool IsBackendRow(const ResultSet& rs, size_t r, int c_part) {
  return c_part < 0 || rs.cell(r, c_part) == kActivityPart;
}
bool IsClientRow(const ResultSet& rs, size_t r, int c_client) {
  return c_client < 0 || rs.cell(r, c_client) != "f";
}

}  // namespace

Result<ScanClients> ScanClients::Read(const ResultSet& rs,
                                      const CollectorContext& ctx,
                                      std::string_view collector) {
  const int c_part = rs.ColumnIndex("part");
  const int c_client = rs.ColumnIndex("client");
  const int c_app = rs.ColumnIndex("application");
  const int c_conn = rs.ColumnIndex("connections");
  if (c_app < 0 || c_conn < 0) {
    return Status::InvalidData(std::string(collector) +
                               ": missing application or connections column");
  }
  ScanClients out;
  out.rows_.reserve(rs.size());
  out.connections_.reserve(rs.size());
  out.applications_.reserve(rs.size());
  for (size_t r = 0; r < rs.size(); ++r) {
    if (!IsBackendRow(rs, r, c_part) || !IsClientRow(rs, r, c_client)) {
      continue;
    }
    auto conn = CellInt64At(rs, r, c_conn, 0);
    if (!conn.ok()) return conn.status().WithContext(collector);
    out.rows_.push_back(r);
    out.connections_.push_back(*conn);
    out.applications_.push_back(rs.cell(r, c_app).value_or(""));
  }
  // Connections per application, to rank them: the rows sorted by name
  // and summed (no node per name).
  std::vector<std::pair<std::string_view, int64_t>> ranked;
  ranked.reserve(out.rows_.size());
  for (size_t i = 0; i < out.rows_.size(); ++i) {
    ranked.emplace_back(out.applications_[i], out.connections_[i]);
  }
  std::sort(ranked.begin(), ranked.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  size_t distinct = 0;
  for (size_t i = 0; i < ranked.size(); ++i) {
    if (distinct > 0 && ranked[distinct - 1].first == ranked[i].first) {
      ranked[distinct - 1].second += ranked[i].second;
    } else {
      ranked[distinct++] = ranked[i];
    }
  }
  ranked.resize(distinct);
  std::vector<std::string_view> pinned(ctx.pinned_applications.begin(),
                                       ctx.pinned_applications.end());
  std::sort(pinned.begin(), pinned.end());
  auto is_pinned = [&](std::string_view app) {
    return std::binary_search(pinned.begin(), pinned.end(), app);
  };
  const size_t keep = std::min(
      ranked.size(), static_cast<size_t>(std::max(ctx.max_applications, 0)));
  auto before = [&](const auto& x, const auto& y) {
    const bool px = is_pinned(x.first);
    const bool py = is_pinned(y.first);
    if (px != py) return px;
    if (x.second != y.second) return x.second > y.second;
    return x.first < y.first;
  };
  std::partial_sort(ranked.begin(),
                    ranked.begin() + static_cast<std::ptrdiff_t>(keep),
                    ranked.end(), before);
  out.kept_.reserve(keep);
  for (size_t i = 0; i < keep; ++i) out.kept_.push_back(ranked[i].first);
  std::sort(out.kept_.begin(), out.kept_.end());
  out.folded_ = static_cast<int64_t>(ranked.size() - keep);
  return out;
}

Result<std::shared_ptr<const ScanClients>> ScanClients::Shared(
    const ResultSet& rs, const CollectorContext& ctx,
    std::string_view collector) {
  std::string key = "scan_clients";
  key += '\0';
  key += std::to_string(ctx.max_applications);
  for (const std::string& p : ctx.pinned_applications) {
    key += '\0';
    key += p;
  }
  Status failed;
  auto clients =
      rs.Memo<ScanClients>(key, [&]() -> std::shared_ptr<const ScanClients> {
        auto read = Read(rs, ctx, collector);
        if (!read.ok()) {
          failed = read.status();
          return nullptr;
        }
        return std::make_shared<const ScanClients>(std::move(*read));
      });
  if (!clients) return failed;
  return clients;
}

std::string ScanClients::Label(std::string_view application) const {
  if (!Kept(application)) return std::string(kOtherLabel);
  if (application.empty()) return std::string(kUnsetApplication);
  return std::string(application);
}

Result<std::optional<std::vector<std::pair<std::string, int64_t>>>>
OtherBackendsOf(const ResultSet& rs) {
  const int c_client = rs.ColumnIndex("client");
  using Counts = std::vector<std::pair<std::string, int64_t>>;
  if (c_client < 0 || rs.ColumnIndex("backends") >= 0) {
    return std::optional<Counts>();
  }
  const int c_part = rs.ColumnIndex("part");
  const int c_type = rs.ColumnIndex("backend_type");
  const int c_conn = rs.ColumnIndex("connections");
  if (c_type < 0 || c_conn < 0) {
    return Status::InvalidData(
        "backends: missing backend_type or connections column");
  }
  std::map<std::string_view, int64_t> per_type;
  for (size_t r = 0; r < rs.size(); ++r) {
    if (!IsBackendRow(rs, r, c_part) || IsClientRow(rs, r, c_client)) continue;
    auto conn = CellInt64At(rs, r, c_conn, 0);
    if (!conn.ok()) return conn.status().WithContext("backends");
    per_type[rs.cell(r, c_type).value_or(kUnknownState)] += *conn;
  }
  Counts out;
  for (const auto& [type, n] : per_type) out.emplace_back(type, n);
  return std::optional(std::move(out));
}

}  // namespace pgconn::detail
