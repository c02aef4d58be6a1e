// Client backends from pg_stat_activity, aggregated on the server by
// application and state. Application names beyond the configured maximum are
// folded into one group on the server too, so a client that invents names
// cannot grow the result or the exposition.
#include <algorithm>
#include <map>
#include <set>

#include "collect/collector.h"
#include "postgres/client_backends.h"
#include "postgres/observations.h"
#include "postgres/sql_literal.h"

namespace pgconn {
namespace {

constexpr std::string_view kConnectionsHelp =
    "Client backends in pg_stat_activity by application_name and state, "
    "excluding pgconn's own session.";

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

class ActivityCollector final : public CollectorOf<Activity> {
 public:
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

 protected:
  Result<Activity> ParseRows(const ResultSet& rs) const override {
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
    Activity out;
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
      out.folded_applications = *folded;
      if (*per_app == 1) {
        out.applications.push_back({app, *addrs});
        continue;
      }
      ActivityGroup g;
      g.application = std::move(app);
      g.state = CellText(row, c_state, kUnknownState);
      g.connections = *conn;
      g.lock_waiting = *lock;
      g.oldest_state_seconds = *old_state;
      g.oldest_transaction_seconds = *old_xact;
      out.groups.push_back(std::move(g));
    }
    Summarize(&out);
    return out;
  }

  void EmitMetrics(const Activity& a, const Labels& t,
                   MetricsWriter* w) const override {
    // Every known state of every application present, 0 where none.
    std::map<std::string, std::map<std::string, const ActivityGroup*>> by_app;
    for (const ActivityGroup& g : a.groups) {
      by_app[g.application][g.state] = &g;
    }
    for (const auto& [app, states] : by_app) {
      const Labels l = WithLabel(t, "application", app);
      for (auto state : kKnownStates) {
        auto it = states.find(std::string(state));
        w->Gauge("pgconn_connections", kConnectionsHelp,
                 WithLabel(l, "state", std::string(state)),
                 it == states.end()
                     ? 0
                     : static_cast<double>(it->second->connections));
      }
      for (const auto& [state, g] : states) {
        if (std::find(kKnownStates.begin(), kKnownStates.end(), state) !=
            kKnownStates.end()) {
          continue;
        }
        w->Gauge("pgconn_connections", kConnectionsHelp,
                 WithLabel(l, "state", state),
                 static_cast<double>(g->connections));
      }
    }
    std::vector<const ApplicationInfo*> apps;
    for (const auto& x : a.applications) apps.push_back(&x);
    std::sort(apps.begin(), apps.end(),
              [](auto* x, auto* y) { return x->application < y->application; });
    for (const ApplicationInfo* x : apps) {
      w->Gauge("pgconn_application_client_addresses",
               "Distinct client addresses of an application's client "
               "backends (all Unix-socket clients count as one): an estimate "
               "of its connected processes or hosts.",
               WithLabel(t, "application", x->application),
               static_cast<double>(x->client_addresses));
    }
    w->Gauge("pgconn_folded_applications",
             "Distinct application names beyond max_applications, folded "
             "into application=\"(other)\".",
             t, static_cast<double>(a.folded_applications));
    const auto& ages = a.summary.applications;
    for (const auto& [app, x] : ages) {
      w->Gauge("pgconn_oldest_idle_in_transaction_seconds",
               "Age of the oldest state change among the application's "
               "sessions idle in a transaction (aborted or not); 0 if none.",
               WithLabel(t, "application", app),
               x.oldest_idle_in_transaction_seconds);
    }
    for (const auto& [app, x] : ages) {
      w->Gauge("pgconn_oldest_idle_seconds",
               "Time the application's longest-idle session has been idle; "
               "compare with the pool's DB_MAX_IDLE_TIME. 0 if none is idle.",
               WithLabel(t, "application", app), x.oldest_idle_seconds);
    }
    for (const auto& [app, x] : ages) {
      w->Gauge("pgconn_oldest_transaction_seconds",
               "Age of the application's oldest open transaction "
               "(now() - xact_start); 0 if none is open.",
               WithLabel(t, "application", app), x.oldest_transaction_seconds);
    }
    w->Gauge("pgconn_lock_waiting_connections",
             "Client backends waiting on a heavyweight lock "
             "(wait_event_type = 'Lock').",
             t, static_cast<double>(a.summary.lock_waiting));
    w->Gauge("pgconn_used_connections",
             "Client backends, the connections that compete for "
             "max_connections (pgconn's own session excluded).",
             t, static_cast<double>(a.summary.used));
    w->Gauge("pgconn_idle_ratio",
             "Idle client backends divided by all client backends; 0 when "
             "there are none. High values suggest lowering DB_POOL_MIN.",
             t, a.summary.idle_ratio);
  }
};

}  // namespace

void Summarize(Activity* a) {
  ActivitySummary s;
  for (const ActivityGroup& g : a->groups) {
    s.used += g.connections;
    s.lock_waiting += g.lock_waiting;
    ApplicationSummary& app = s.applications[g.application];
    app.connections += g.connections;
    app.oldest_transaction_seconds =
        std::max(app.oldest_transaction_seconds, g.oldest_transaction_seconds);
    if (g.state == "idle") {
      s.idle += g.connections;
      app.oldest_idle_seconds =
          std::max(app.oldest_idle_seconds, g.oldest_state_seconds);
    } else if (IsIdleInTransaction(g.state)) {
      s.idle_in_transaction += g.connections;
      app.oldest_idle_in_transaction_seconds = std::max(
          app.oldest_idle_in_transaction_seconds, g.oldest_state_seconds);
    }
  }
  s.idle_ratio = s.used > 0
                     ? static_cast<double>(s.idle) / static_cast<double>(s.used)
                     : 0.0;
  a->summary = std::move(s);
}

std::unique_ptr<Collector> NewActivityCollector() {
  return std::make_unique<ActivityCollector>();
}

}  // namespace pgconn
