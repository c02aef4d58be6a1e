// Client backends from pg_stat_activity, aggregated on the server by
// application and state. Application names beyond the configured maximum are
// folded into one group on the server too, so a client that invents names
// cannot grow the result or the exposition.
#include <map>

#include "collect/collector.h"
#include "postgres/client_backends.h"
#include "postgres/registry.h"
#include "postgres/sql_literal.h"

namespace pgconn {
namespace {

// "app IN ('a', 'b') DESC, " when names are pinned: ranks them first, so
// the folding keeps them whatever their size.
std::string PinnedFirst(const std::vector<std::string>& pinned) {
  if (pinned.empty()) return "";
  std::string list;
  for (const std::string& name : pinned) {
    if (!list.empty()) list += ", ";
    list += detail::SqlLiteral(name);
  }
  return "app IN (" + list + ") DESC, ";
}

class ActivityCollector final : public Collector {
 public:
  std::string_view name() const override { return "activity"; }

  std::string Statement(const CollectorContext& ctx) const override {
    const std::string n = std::to_string(ctx.max_applications);
    // - application NULL marks the folded group ('' is a real, empty name);
    // - a Unix-socket client (client_port -1) counts as one address; a row
    //   we may not see (NULL client_port) counts as none;
    // - GROUPING(state) = 1 marks the per-application rows.
    return "WITH a AS ("
           " SELECT coalesce(application_name, '') AS app,"
           " coalesce(state, 'unknown') AS state,"
           " CASE WHEN client_port = -1 THEN 'local'"
           " ELSE host(client_addr) END AS addr,"
           " wait_event_type, state_change, xact_start"
           " FROM pg_stat_activity"
           " WHERE " +
           detail::ClientBackendCondition() +
           "), ranked AS ("
           " SELECT app, row_number() OVER (ORDER BY " +
           PinnedFirst(ctx.pinned_applications) +
           "count(*) DESC, app) AS rn"
           " FROM a GROUP BY app"
           "), folded AS ("
           " SELECT CASE WHEN ranked.rn <= " +
           n +
           " THEN a.app END AS application,"
           " a.state, a.addr, a.wait_event_type, a.state_change, a.xact_start"
           " FROM a JOIN ranked USING (app)"
           ")"
           " SELECT application, state, count(*) AS connections,"
           " count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock_waiting,"
           " greatest(coalesce(extract(epoch FROM now() - min(state_change)), "
           "0), 0)"
           " AS oldest_state_seconds,"
           " greatest(coalesce(extract(epoch FROM now() - min(xact_start)), "
           "0), 0)"
           " AS oldest_transaction_seconds,"
           " count(DISTINCT addr) AS client_addresses,"
           " GROUPING(state) AS per_application,"
           " (SELECT count(*) FROM ranked WHERE rn > " +
           n +
           ")"
           " AS folded_applications"
           " FROM folded"
           " GROUP BY GROUPING SETS ((application, state), (application))";
  }

  Status Parse(const ResultSet& rs, Snapshot* out) const override {
    const int c_app = rs.ColumnIndex("application");
    const int c_state = rs.ColumnIndex("state");
    const int c_conn = rs.ColumnIndex("connections");
    const int c_lock = rs.ColumnIndex("lock_waiting");
    const int c_old_state = rs.ColumnIndex("oldest_state_seconds");
    const int c_old_xact = rs.ColumnIndex("oldest_transaction_seconds");
    const int c_addr = rs.ColumnIndex("client_addresses");
    const int c_per_app = rs.ColumnIndex("per_application");
    const int c_folded = rs.ColumnIndex("folded_applications");
    if (c_app < 0 || c_state < 0 || c_conn < 0 || c_per_app < 0) {
      return Status::InvalidData(
          "activity: missing application, state, connections or "
          "per_application column");
    }
    PostgresData& pg = out->postgres;
    pg.activity.clear();
    pg.applications.clear();
    pg.folded_applications = 0;
    for (const auto& row : rs.rows()) {
      std::string app;
      if (!row[c_app].has_value()) {
        app = kOtherLabel;
      } else if (row[c_app]->empty()) {
        app = kUnsetApplication;
      } else {
        app = *row[c_app];
      }
      auto per_app = CellInt64(rs, row, c_per_app, 0);
      auto conn = CellInt64(rs, row, c_conn, 0);
      auto lock = CellInt64(rs, row, c_lock, 0);
      auto old_state = CellDouble(rs, row, c_old_state, 0);
      auto old_xact = CellDouble(rs, row, c_old_xact, 0);
      auto addrs = CellInt64(rs, row, c_addr, 0);
      auto folded = CellInt64(rs, row, c_folded, 0);
      for (const Status* s : {&per_app.status(), &conn.status(), &lock.status(),
                              &old_state.status(), &old_xact.status(),
                              &addrs.status(), &folded.status()}) {
        if (!s->ok()) return s->WithContext("activity");
      }
      pg.folded_applications = *folded;
      if (*per_app == 1) {
        pg.applications.push_back({app, *addrs});
        continue;
      }
      ActivityGroup g;
      g.application = std::move(app);
      g.state = CellText(row, c_state, kUnknownState);
      g.connections = *conn;
      g.lock_waiting = *lock;
      g.oldest_state_seconds = *old_state;
      g.oldest_transaction_seconds = *old_xact;
      pg.activity.push_back(std::move(g));
    }
    pg.has_activity = true;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Collector> NewActivityCollector() {
  return std::make_unique<ActivityCollector>();
}

}  // namespace pgconn
