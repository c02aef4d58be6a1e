// Client backends from pg_stat_activity by application and state (its part
// of the one scan, activity_scan.h). The server aggregates them by
// application, state and client address; here the applications are ranked
// and those beyond the configured maximum folded into one group, so a
// client that invents names cannot grow the exposition. The folding works
// on the aggregated rows (a few per distinct name), never per backend.
#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "postgres/activity_scan.h"
#include "postgres/observations.h"

namespace pgconn {
namespace {

constexpr std::string_view kConnectionsHelp =
    "Client backends in pg_stat_activity by application_name and state, "
    "pgconn's own session included.";

// A group of the activity part: folded into "(other)" (true), or one
// application; views into the scan's rows, which outlive the parse.
using AppKey = std::pair<bool, std::string_view>;
using GroupKey = std::pair<AppKey, std::string_view>;  // and the state
struct GroupKeyHash {
  size_t operator()(const GroupKey& k) const {
    const std::hash<std::string_view> h;
    return (h(k.first.second) * 31 + h(k.second)) * 2 + (k.first.first ? 1 : 0);
  }
};

// The identities of a group's recent backends ("pid:µs pid:µs ..."),
// under their application's label, unfolded.
void AppendRecent(std::string_view identities, std::string_view app,
                  std::vector<RecentBackend>* out) {
  const std::string label =
      app.empty() ? std::string(kUnsetApplication) : std::string(app);
  while (!identities.empty()) {
    const size_t sp = identities.find(' ');
    const std::string_view id = identities.substr(0, sp);
    if (!id.empty()) out->push_back({label, std::string(id)});
    if (sp == std::string_view::npos) break;
    identities.remove_prefix(sp + 1);
  }
}

std::string_view TextOr(const ResultSet& rs, size_t row, int column,
                        std::string_view fallback) {
  return rs.cell(row, column).value_or(fallback);
}

// The scan's client rows, read in place from the result: at many distinct
// names they are most of it.
Result<Activity> Read(const ResultSet& rs, const CollectorContext& ctx) {
  const int c_app = rs.ColumnIndex("application");
  const int c_state = rs.ColumnIndex("state");
  const int c_addr = rs.ColumnIndex("client_address");
  const int c_conn = rs.ColumnIndex("connections");
  const int c_lock = rs.ColumnIndex("lock_waiting");
  const int c_old_state = rs.ColumnIndex("oldest_state_seconds");
  const int c_old_xact = rs.ColumnIndex("oldest_transaction_seconds");
  const int c_own = rs.ColumnIndex("own_connections");
  const int c_recent = rs.ColumnIndex("recent_backends");  // optional
  const int c_scan_time = rs.ColumnIndex("scan_time");     // optional
  if (c_app < 0 || c_state < 0 || c_addr < 0 || c_conn < 0) {
    return Status::InvalidData(
        "activity: missing application, state, client_address or "
        "connections column");
  }
  auto shared = detail::ScanClients::Shared(rs, ctx, Activity::kName);
  if (!shared.ok()) return shared.status();
  const detail::ScanClients* clients = shared->get();
  Activity out;
  out.folded_applications = clients->folded();

  // Hashed while reading, sorted once at the end: the order of a map by
  // key, without a tree walk of string comparisons per row.
  std::unordered_map<GroupKey, size_t, GroupKeyHash> group_index;
  group_index.reserve(clients->rows().size());
  std::vector<std::pair<GroupKey, ActivityGroup>> groups;
  // (application, address) once per row; counted distinct after sorting.
  std::vector<std::pair<AppKey, std::optional<std::string_view>>> addresses;
  addresses.reserve(clients->rows().size());
  for (size_t i = 0; i < clients->rows().size(); ++i) {
    const size_t row = clients->rows()[i];
    const std::string_view app = clients->application(i);
    const AppKey key = clients->Kept(app) ? AppKey{false, app}
                                          : AppKey{true, std::string_view()};
    auto lock = CellInt64At(rs, row, c_lock, 0);
    auto old_state = CellDoubleAt(rs, row, c_old_state, 0);
    auto old_xact = CellDoubleAt(rs, row, c_old_xact, 0);
    auto own = CellInt64At(rs, row, c_own, 0);
    for (const Status* s : {&lock.status(), &old_state.status(),
                            &old_xact.status(), &own.status()}) {
      if (!s->ok()) return s->WithContext("activity");
    }
    if (c_scan_time >= 0 && !out.scan_time_us && rs.cell(row, c_scan_time)) {
      auto t = CellInt64At(rs, row, c_scan_time, 0);
      if (!t.ok()) return t.status().WithContext("activity");
      out.scan_time_us = *t;
    }
    // A NULL address (a row we may not see) counts as none, but its
    // application is listed.
    addresses.emplace_back(key, rs.cell(row, c_addr));
    const GroupKey group{key, TextOr(rs, row, c_state, kUnknownState)};
    auto [at, added] = group_index.try_emplace(group, groups.size());
    if (added) groups.emplace_back(group, ActivityGroup{});
    ActivityGroup& g = groups[at->second].second;
    g.connections += clients->connections(i);
    g.lock_waiting += *lock;
    g.own_connections += *own;
    if (const auto recent = rs.cell(row, c_recent)) {
      AppendRecent(*recent, app, &out.recent);
    }
    g.oldest_state_seconds = std::max(g.oldest_state_seconds, *old_state);
    g.oldest_transaction_seconds =
        std::max(g.oldest_transaction_seconds, *old_xact);
  }
  auto label = [&](const AppKey& key) {
    return key.first ? std::string(kOtherLabel) : clients->Label(key.second);
  };
  std::sort(groups.begin(), groups.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  out.groups.reserve(groups.size());
  for (auto& [key, g] : groups) {
    g.application = label(key.first);
    g.state = std::string(key.second);
    out.groups.push_back(std::move(g));
  }
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()),
                  addresses.end());
  for (size_t i = 0; i < addresses.size();) {
    const AppKey& key = addresses[i].first;
    int64_t distinct = 0;
    for (; i < addresses.size() && addresses[i].first == key; ++i) {
      if (addresses[i].second) ++distinct;
    }
    out.applications.push_back({label(key), distinct});
  }
  Summarize(&out);
  return out;
}

class ActivityCollector final : public detail::ScanPartCollector<Activity> {
 protected:
  // Folding needs the context (max_applications, the pinned names).
  Result<Activity> ParseScan(const ResultSet& rows,
                             const CollectorContext& ctx) const override {
    return Read(rows, ctx);
  }
  Result<Activity> ParseRows(const ResultSet& rows) const override {
    return Read(rows, CollectorContext{});
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
                 WithLabel(l, "state", state),
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
             "max_connections (pgconn's own session included).",
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
    app.own_connections += g.own_connections;
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
