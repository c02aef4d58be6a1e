#include "pools/pool_signals.h"

#include <algorithm>
#include <map>

#include "pools/budget.h"

namespace pgconn {
namespace {

// States in which a pooled connection is checked out and working; "unknown"
// (a role without pg_read_all_stats) and "disabled" say nothing either way.
bool IsBusy(const std::string& state) {
  return state == "active" || IsIdleInTransaction(state) ||
         state == "fastpath function call";
}

struct Observed {
  int64_t connections = 0;
  int64_t idle = 0;
  int64_t busy = 0;
  int64_t own = 0;  // pgconn's own session
};

std::optional<double> Share(int64_t part, int64_t whole) {
  if (whole <= 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

PoolSignals DerivePoolSignals(const std::vector<PoolDeclaration>& pools,
                              std::optional<int> overhead,
                              const ConnectionLimits* limits,
                              const Activity* activity,
                              double near_limit_threshold) {
  PoolSignals out;
  std::map<std::string, DeclaredPoolSignals> declared;
  for (const PoolDeclaration& p : pools) {
    DeclaredPoolSignals& d = declared[p.application];
    d.application = p.application;
    d.replicas = p.replicas;
    d.pool_max = p.pool_max;
    d.pool_min = p.pool_min;
    d.declared_max = static_cast<int64_t>(p.replicas) * p.pool_max;
    d.declared_min = static_cast<int64_t>(p.replicas) * p.pool_min;
  }
  out.overhead = overhead.value_or(0);

  std::map<std::string, Observed> observed;
  if (activity != nullptr) {
    for (const ActivityGroup& g : activity->groups) {
      Observed& o = observed[g.application];
      o.connections += g.connections;
      o.own += g.own_connections;
      if (g.state == "idle") o.idle += g.connections;
      if (IsBusy(g.state)) o.busy += g.connections;
    }
  }

  for (auto& [app, d] : declared) {
    out.declared_max_total += d.declared_max;
    // Folded names are not a declared application even if one is declared
    // under that label.
    auto it = app == kOtherLabel ? observed.end() : observed.find(app);
    if (it != observed.end()) {
      d.connections = it->second.connections;
      d.idle = it->second.idle;
      d.busy = it->second.busy;
    }
    d.utilization = Share(d.connections, d.declared_max);
    d.busy_ratio = Share(d.busy, d.declared_max);
    d.excess = std::max<int64_t>(d.connections - d.declared_max, 0);
    d.idle_above_min = std::max<int64_t>(d.idle - d.declared_min, 0);
    out.declared.push_back(d);
  }
  out.budget = out.declared_max_total + out.overhead + out.monitoring_agents;

  if (limits != nullptr) {
    const int64_t usable = UsableConnections(*limits);
    out.budget_ratio = Share(out.budget, usable);
    out.overcommitted =
        ClassifyTotal(out.budget, usable, near_limit_threshold) != Verdict::kOk;
  }
  if (activity != nullptr) {
    const int64_t used = activity->summary.used;
    for (const auto& [app, o] : observed) {
      if (app != kOtherLabel && declared.count(app) > 0) continue;
      // pgconn's own session is the monitoring agent, not an undeclared
      // application (the planner counts it apart).
      const int64_t n = o.connections - o.own;
      if (n <= 0) continue;
      out.undeclared.push_back({app, n, Share(n, used).value_or(0)});
    }
  }
  return out;
}

}  // namespace pgconn
