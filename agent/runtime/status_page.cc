#include "runtime/status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "pgbouncer/pgbouncer.h"
#include "pools/pool_signals.h"
#include "postgres/observations.h"
#include "postgres/peak_stage.h"
#include "postgres/signals.h"

namespace pgconn {
namespace {

// The alerts' thresholds (alerts/*.yml), without their `for:` durations:
// the page shows what is true in the last poll.
constexpr double kCriticalUtilization = 0.9;
constexpr double kIdleRatioHigh = 0.8;
constexpr int64_t kIdleRatioMinUsed = 20;
constexpr double kIdleInTransactionWarning = 300;
constexpr double kIdleInTransactionCritical = 900;
constexpr int64_t kLockWaitingWarning = 5;
constexpr double kBouncerClientsNearLimit = 0.8;

// The pooling guide's advice, in its own terms (DB_POOL_MAX, DB_POOL_MIN).
constexpr char kAdviceTooManyClients[] =
    "PostgreSQL refuses new logins now. Reduce DB_POOL_MAX per worker, run "
    "fewer workers, raise max_connections, or put PgBouncer in front.";
constexpr char kAdviceNearLimit[] =
    "Near max_connections: time to scale down workers or increase the "
    "limit. Keep total connections under 80 % of the usable slots.";
constexpr char kAdviceIdle[] =
    "Many idle connections: consider reducing DB_POOL_MIN.";
constexpr char kAdviceIdleInTransaction[] =
    "A session holds a transaction open while doing nothing, with its locks. "
    "Find the application below and make it commit or roll back; "
    "idle_in_transaction_session_timeout bounds it.";
constexpr char kAdviceLocks[] =
    "Sessions wait on locks: optimize long-running queries and "
    "transactions that hold locks.";
constexpr char kAdviceBudget[] =
    "The declared pools (replicas x DB_POOL_MAX, plus overhead) do not fit "
    "under 80 % of the usable slots: lower DB_POOL_MAX, run fewer replicas, "
    "raise max_connections, or use PgBouncer. Count the non-worker "
    "connections too.";
constexpr char kAdviceExcess[] =
    "An application holds more connections than its declaration allows "
    "(replicas x DB_POOL_MAX): update the declaration, or look for a "
    "connection leak.";
constexpr char kAdviceWaiting[] =
    "Connection pool exhaustion: clients wait for a server connection. "
    "Increase the pool size (check the total connection limit), optimize "
    "long-running queries, or add workers with smaller pools.";
constexpr char kAdviceBouncerClients[] =
    "PgBouncer nears max_client_conn: the workers' pools together open too "
    "many client connections; lower DB_POOL_MAX or raise max_client_conn.";
constexpr char kAdviceDown[] =
    "The agent cannot poll this target: check that the server runs and is "
    "reachable, and the agent's credentials. The numbers shown are from "
    "the last successful poll.";

int SeverityRank(std::string_view s) {
  if (s == "critical") return 0;
  if (s == "warning") return 1;
  return 2;
}

std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string Percent(double ratio) { return Fixed(ratio * 100, 1) + " %"; }

std::string Seconds(double s) { return Fixed(s, 1) + " s"; }

ConnectionStatus Connections(const ConnectionLimits& limits,
                             const Activity& activity,
                             const ConnectionSignals* signals) {
  ConnectionStatus c;
  c.max_connections = limits.max_connections;
  c.reserved = ReservedConnections(limits);
  c.usable = UsableConnections(limits);
  if (signals != nullptr) {
    c.used = signals->used;
    c.available = signals->available;
    c.utilization = signals->utilization;
    c.near_limit_threshold = signals->near_limit_threshold;
  } else {
    c.used = activity.summary.used;
    c.available = std::max<int64_t>(c.usable - c.used, 0);
    c.utilization = c.usable > 0 ? static_cast<double>(c.used) / c.usable : 1;
  }
  c.headroom_connections = c.near_limit_threshold * c.usable;
  for (std::string_view s : kKnownStates) c.states[std::string(s)] = 0;
  std::map<std::string, ApplicationStatus> apps;
  for (const ActivityGroup& g : activity.groups) {
    c.states[g.state] += g.connections;
    ApplicationStatus& a = apps[g.application];
    a.application = g.application;
    a.connections += g.connections;
    if (g.connections > 0) a.states[g.state] += g.connections;
  }
  for (auto& [name, a] : apps) {
    auto it = activity.summary.applications.find(name);
    if (it != activity.summary.applications.end()) {
      a.oldest_idle_in_transaction_seconds =
          it->second.oldest_idle_in_transaction_seconds;
      c.oldest_idle_in_transaction_seconds =
          std::max(c.oldest_idle_in_transaction_seconds,
                   it->second.oldest_idle_in_transaction_seconds);
    }
    if (a.connections > 0) c.applications.push_back(std::move(a));
  }
  std::stable_sort(c.applications.begin(), c.applications.end(),
                   [](const ApplicationStatus& x, const ApplicationStatus& y) {
                     return x.connections > y.connections;
                   });
  c.idle_ratio = activity.summary.idle_ratio;
  c.lock_waiting = activity.summary.lock_waiting;
  return c;
}

PoolBudgetStatus Pools(const PoolSignals& p) {
  PoolBudgetStatus b;
  b.declared_max_total = p.declared_max_total;
  b.overhead = p.overhead;
  b.budget = p.budget;
  b.budget_ratio = p.budget_ratio;
  b.overcommitted = p.overcommitted;
  b.monitoring_agents = p.monitoring_agents;
  for (const DeclaredPoolSignals& d : p.declared) {
    DeclaredPoolStatus s;
    s.application = d.application;
    s.replicas = d.replicas;
    s.declared_max = d.declared_max;
    s.connections = d.connections;
    s.excess = d.excess;
    s.pool_max = d.pool_max;
    s.pool_min = d.pool_min;
    s.busy = d.busy;
    s.busy_peak = d.evidence.busy_peak;
    s.saturated_seconds = d.evidence.saturated_seconds_total;
    b.declared.push_back(std::move(s));
  }
  return b;
}

BouncerStatus Bouncer(const PgBouncerPools* pools,
                      const PgBouncerSignals* signals) {
  BouncerStatus b;
  if (pools != nullptr) {
    b.waiting_clients = pools->waiting_clients;
    b.logical_connections = pools->logical_connections;
    b.physical_connections = pools->physical_connections;
    for (const PgBouncerPool& p : pools->pools) {
      auto it = p.clients.find("waiting");
      b.pools.push_back({p.database, p.user,
                         it == p.clients.end() ? 0 : it->second,
                         p.max_wait_seconds});
    }
  }
  if (signals != nullptr) b.client_utilization = signals->client_utilization;
  return b;
}

void ConnectionWarnings(const ConnectionStatus& c,
                        std::vector<WarningSign>& w) {
  if (c.available == 0) {
    w.push_back({"PgconnConnectionsExhausted", "critical",
                 "No usable connection slot is free (" +
                     std::to_string(c.used) + " used of " +
                     std::to_string(c.usable) + ").",
                 kAdviceTooManyClients});
  } else if (c.utilization >= c.near_limit_threshold) {
    w.push_back(
        {"PgconnConnectionsNearLimit",
         c.utilization >= kCriticalUtilization ? "critical" : "warning",
         Percent(c.utilization) + " of the usable connections are used.",
         kAdviceNearLimit});
  }
  if (c.idle_ratio >= kIdleRatioHigh && c.used >= kIdleRatioMinUsed) {
    w.push_back({"PgconnIdleConnectionsHigh", "info",
                 Percent(c.idle_ratio) + " of the connections are idle.",
                 kAdviceIdle});
  }
  if (c.oldest_idle_in_transaction_seconds > kIdleInTransactionWarning) {
    w.push_back(
        {"PgconnIdleInTransactionTooLong",
         c.oldest_idle_in_transaction_seconds > kIdleInTransactionCritical
             ? "critical"
             : "warning",
         "A transaction has been idle for " +
             Seconds(c.oldest_idle_in_transaction_seconds) + ".",
         kAdviceIdleInTransaction});
  }
  if (c.lock_waiting >= kLockWaitingWarning) {
    w.push_back({"PgconnConnectionsWaitingOnLocks", "warning",
                 std::to_string(c.lock_waiting) + " connections wait on locks.",
                 kAdviceLocks});
  }
}

void PoolWarnings(const PoolBudgetStatus& p, std::vector<WarningSign>& w) {
  if (p.overcommitted.value_or(false)) {
    w.push_back({"PgconnPoolBudgetOvercommitted",
                 p.budget_ratio.value_or(0) > 1 ? "critical" : "warning",
                 "The declared pools can open " + std::to_string(p.budget) +
                     " connections (" + Percent(p.budget_ratio.value_or(0)) +
                     " of the usable slots).",
                 kAdviceBudget});
  }
  for (const DeclaredPoolStatus& d : p.declared) {
    if (d.excess <= 0) continue;
    w.push_back({"PgconnPoolExceedsDeclared", "warning",
                 d.application + " holds " + std::to_string(d.connections) +
                     " connections, " + std::to_string(d.excess) +
                     " more than declared.",
                 kAdviceExcess});
  }
}

void BouncerWarnings(const BouncerStatus& b, std::vector<WarningSign>& w) {
  if (b.waiting_clients > 0) {
    w.push_back({"PgconnPgbouncerClientsWaiting", "warning",
                 std::to_string(b.waiting_clients) +
                     " clients wait for a server connection.",
                 kAdviceWaiting});
  }
  if (b.client_utilization.value_or(0) >= kBouncerClientsNearLimit) {
    w.push_back(
        {"PgconnPgbouncerClientConnectionsNearLimit",
         *b.client_utilization >= kCriticalUtilization ? "critical" : "warning",
         Percent(*b.client_utilization) + " of max_client_conn are used.",
         kAdviceBouncerClients});
  }
}

// The warning signs of the last poll, most severe first.
void AddWarnings(TargetStatus* t) {
  std::vector<WarningSign>& w = t->warnings;
  if (t->polled && !t->up) {
    w.push_back(
        {t->kind == "pgbouncer" ? "PgconnPgbouncerDown" : "PgconnTargetDown",
         "critical", "The last poll of this target failed.", kAdviceDown});
  }
  if (t->connections) ConnectionWarnings(*t->connections, w);
  if (t->pools) PoolWarnings(*t->pools, w);
  if (t->pgbouncer) BouncerWarnings(*t->pgbouncer, w);
  std::stable_sort(t->warnings.begin(), t->warnings.end(),
                   [](const WarningSign& a, const WarningSign& b) {
                     return SeverityRank(a.severity) < SeverityRank(b.severity);
                   });
}

TargetStatus Target(const TargetReport& r) {
  TargetStatus t;
  t.name = r.target;
  t.kind = r.kind == TargetKind::kPgBouncer ? "pgbouncer" : "postgres";
  t.up = r.up;
  t.polled = r.stats.attempted;
  t.last_success_unix = r.stats.last_success_unix;
  if (r.snapshot != nullptr) {
    const Snapshot& s = *r.snapshot;
    const auto* limits = s.Find<ConnectionLimits>();
    const auto* activity = s.Find<Activity>();
    if (limits != nullptr && activity != nullptr) {
      t.connections =
          Connections(*limits, *activity, s.Find<ConnectionSignals>());
      if (const auto* peaks = s.Find<PostgresPeaks>(); peaks != nullptr) {
        t.connections->peak_used = peaks->used;
        t.connections->peak_utilization = peaks->utilization;
        t.connections->peak_window_seconds = peaks->window_seconds;
      }
    }
    if (const auto* p = s.Find<PoolSignals>(); p != nullptr)
      t.pools = Pools(*p);
    if (const auto* h = s.Find<UsedHistory>(); h != nullptr) {
      t.history = UsedHistoryStatus{h->samples, h->poll_interval_seconds};
    }
    const auto* bp = s.Find<PgBouncerPools>();
    const auto* bs = s.Find<PgBouncerSignals>();
    if (bp != nullptr || bs != nullptr) t.pgbouncer = Bouncer(bp, bs);
  }
  AddWarnings(&t);
  return t;
}

}  // namespace

StatusModel BuildStatusModel(const std::vector<TargetReport>& reports) {
  StatusModel m;
  m.targets.reserve(reports.size());
  for (const TargetReport& r : reports) m.targets.push_back(Target(r));
  return m;
}

}  // namespace pgconn
