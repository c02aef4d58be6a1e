// The pool-budget part of the exposition: declared pools (configuration)
// next to what the last snapshot observed. Emitted only for targets that
// declare pools or an overhead.
#include "pools/pool_signals.h"

namespace pgconn {
namespace {

// One per-application gauge: its name, HELP and value (nullopt: no sample).
struct ApplicationGauge {
  std::string_view name;
  std::string_view help;
  std::optional<double> (*value)(const DeclaredPoolSignals&);
};

// What the configuration says; exported with or without a snapshot.
constexpr ApplicationGauge kDeclared[] = {
    {"pgconn_pool_declared_replicas",
     "Worker processes declared for the application in the agent's "
     "configuration (pools[].replicas).",
     [](const DeclaredPoolSignals& d) -> std::optional<double> {
       return static_cast<double>(d.replicas);
     }},
    {"pgconn_pool_declared_max_connections",
     "Declared pool capacity of the application: replicas times pool_max "
     "(the guide's workers x DB_POOL_MAX), from the configuration.",
     [](const DeclaredPoolSignals& d) -> std::optional<double> {
       return static_cast<double>(d.declared_max);
     }},
    {"pgconn_pool_declared_min_connections",
     "Connections the application's pools keep open even when idle: "
     "replicas times pool_min (DB_POOL_MIN), from the configuration.",
     [](const DeclaredPoolSignals& d) -> std::optional<double> {
       return static_cast<double>(d.declared_min);
     }},
    {"pgconn_pool_declared_worker_max_connections",
     "Declared pool size of one worker process of the application "
     "(pools[].pool_max, the guide's DB_POOL_MAX), from the configuration.",
     [](const DeclaredPoolSignals& d) -> std::optional<double> {
       return static_cast<double>(d.pool_max);
     }},
    {"pgconn_pool_declared_worker_min_connections",
     "Declared minimum pool of one worker process of the application "
     "(pools[].pool_min, the guide's DB_POOL_MIN), from the configuration.",
     [](const DeclaredPoolSignals& d) -> std::optional<double> {
       return static_cast<double>(d.pool_min);
     }},
};

// The evidence counters: seconds at capacity and busy connection-seconds,
// summed over the agent's polls. Exported with or without a snapshot, from
// 0, so that rate() and increase() see the first second; they never go down
// while the agent runs (a reload that keeps the application keeps them).
struct ApplicationCounter {
  std::string_view name;
  std::string_view help;
  double (*value)(const DeclaredPoolSignals&);
};
constexpr ApplicationCounter kEvidenceCounters[] = {
    {"pgconn_pool_saturated_seconds_total",
     "Seconds during which the application's busy client backends (active, "
     "idle in transaction, fastpath) were at or above its declared replicas "
     "x pool_max: workers waited for their pool. Each successful poll that "
     "sees it adds the poll interval (the interval that ends at that poll); "
     "0 replicas never count.",
     [](const DeclaredPoolSignals& d) {
       return d.evidence.saturated_seconds_total;
     }},
    {"pgconn_pool_busy_seconds_total",
     "Busy client backends of the application (active, idle in "
     "transaction, fastpath) times the poll interval, summed over successful "
     "polls: connection-seconds checked out. Its rate is the mean number of "
     "busy connections.",
     [](const DeclaredPoolSignals& d) {
       return d.evidence.busy_seconds_total;
     }},
};

// The declarations against pg_stat_activity; only with activity data.
constexpr ApplicationGauge kObserved[] = {
    {"pgconn_pool_utilization_ratio",
     "Client backends of the application in pg_stat_activity divided by its "
     "declared replicas x pool_max; near 1 the pools are full, above 1 more "
     "connect than declared. Absent for 0 replicas.",
     [](const DeclaredPoolSignals& d) { return d.utilization; }},
    {"pgconn_pool_busy_ratio",
     "Client backends of the application that are working (active, idle in "
     "transaction, fastpath) divided by its declared replicas x pool_max; "
     "near 1 workers wait for a connection (pool exhaustion). Absent for 0 "
     "replicas.",
     [](const DeclaredPoolSignals& d) { return d.busy_ratio; }},
    {"pgconn_pool_busy_connections",
     "Client backends of the application that are checked out (active, "
     "idle in transaction, aborted or not, fastpath) at the last poll; "
     "quantile_over_time of it gives the busy median.",
     [](const DeclaredPoolSignals& d) -> std::optional<double> {
       return static_cast<double>(d.busy);
     }},
    {"pgconn_pool_busy_peak_connections",
     "Highest pgconn_pool_busy_connections any successful poll saw within "
     "the peak window (pgconn_peak_window_seconds): a burst between two "
     "scrapes still shows.",
     [](const DeclaredPoolSignals& d) -> std::optional<double> {
       return d.evidence.busy_peak;
     }},
    {"pgconn_pool_excess_connections",
     "Client backends of the application beyond its declared replicas x "
     "pool_max (more replicas or a larger pool than declared), floored at 0.",
     [](const DeclaredPoolSignals& d) -> std::optional<double> {
       return static_cast<double>(d.excess);
     }},
    {"pgconn_pool_idle_above_min_connections",
     "Idle client backends of the application beyond its declared replicas "
     "x pool_min, floored at 0: idle connections the pools hold above their "
     "minimum.",
     [](const DeclaredPoolSignals& d) -> std::optional<double> {
       return static_cast<double>(d.idle_above_min);
     }},
};

template <size_t N>
void AppendPerApplication(const Labels& t, const PoolSignals& s,
                          const ApplicationGauge (&gauges)[N],
                          MetricsWriter* w) {
  for (const ApplicationGauge& g : gauges) {
    for (const DeclaredPoolSignals& d : s.declared) {
      if (auto v = g.value(d))
        w->Gauge(g.name, g.help, WithLabel(t, "application", d.application),
                 *v);
    }
  }
}

void AppendUndeclared(const Labels& t, const PoolSignals& s, MetricsWriter* w) {
  for (const UndeclaredApplication& u : s.undeclared) {
    w->Gauge("pgconn_undeclared_connections",
             "Client backends of an application with no declared pool on "
             "this target (\"(other)\" included); they must fit in the "
             "declared overhead.",
             WithLabel(t, "application", u.application),
             static_cast<double>(u.connections));
  }
  for (const UndeclaredApplication& u : s.undeclared) {
    w->Gauge("pgconn_undeclared_share_ratio",
             "Client backends of an undeclared application divided by all "
             "client backends of the target.",
             WithLabel(t, "application", u.application), u.share);
  }
}

void AppendPoolMetrics(const Labels& t, const PoolSignals& s, bool has_activity,
                       MetricsWriter* w) {
  w->Gauge("pgconn_pool_budget_connections",
           "Declared connection budget of the target: the sum of replicas x "
           "pool_max over the declared pools plus the declared overhead "
           "plus 1 for pgconn's own session.",
           t, static_cast<double>(s.budget));
  w->Gauge("pgconn_pool_overhead_connections",
           "Declared allowance for connections outside the declared pools "
           "(bot, interface, migrations); 0 when not declared.",
           t, static_cast<double>(s.overhead));
  if (s.budget_ratio) {
    w->Gauge("pgconn_pool_budget_ratio",
             "Declared budget divided by the usable connections "
             "(max_connections minus reserved); above 1 full pools are "
             "refused.",
             t, *s.budget_ratio);
  }
  if (s.overcommitted) {
    w->Gauge("pgconn_pool_overcommitted",
             "1 if the declared budget exceeds near_limit_threshold x usable "
             "connections (the planner's over_headroom or over_limit), even "
             "if the pools are not full today.",
             t, *s.overcommitted ? 1 : 0);
  }
  AppendPerApplication(t, s, kDeclared, w);
  for (const ApplicationCounter& c : kEvidenceCounters) {
    for (const DeclaredPoolSignals& d : s.declared) {
      w->Counter(c.name, c.help, WithLabel(t, "application", d.application),
                 c.value(d));
    }
  }
  if (!has_activity) return;
  AppendPerApplication(t, s, kObserved, w);
  AppendUndeclared(t, s, w);
}

const Clock& DefaultClock() {
  static const SystemClock kSystemClock;
  return kSystemClock;
}

class PoolBudgetStage final : public SignalStage {
 public:
  PoolBudgetStage(std::vector<PoolDeclaration> pools,
                  std::optional<int> overhead, double threshold,
                  PoolEvidenceSettings evidence)
      : pools_(std::move(pools)),
        overhead_(overhead),
        threshold_(threshold),
        evidence_(std::move(evidence)),
        clock_(evidence_.clock != nullptr ? *evidence_.clock : DefaultClock()),
        ledger_(evidence_.ledger ? evidence_.ledger
                                 : std::make_shared<PoolEvidenceLedger>()) {}

  void Derive(Snapshot* snap) const override {
    const Activity* activity = snap->Find<Activity>();
    PoolSignals s =
        DerivePoolSignals(pools_, overhead_, snap->Find<ConnectionLimits>(),
                          activity, threshold_);
    if (activity != nullptr) {
      ledger_->Record(clock_.Monotonic(), evidence_.peak_window,
                      evidence_.poll_interval_seconds, &s.declared);
    } else {
      ledger_->Fill(&s.declared);
    }
    snap->Put(std::move(s));
  }

  void Emit(const Snapshot& snap, const EmitContext& ctx,
            MetricsWriter* w) const override {
    if (pools_.empty() && !overhead_) return;  // nothing declared
    const PoolSignals* s = snap.Find<PoolSignals>();
    if (s == nullptr) return;
    AppendPoolMetrics(ctx.target, *s, snap.Find<Activity>() != nullptr, w);
  }

 private:
  const std::vector<PoolDeclaration> pools_;
  const std::optional<int> overhead_;
  const double threshold_;
  const PoolEvidenceSettings evidence_;
  const Clock& clock_;
  const std::shared_ptr<PoolEvidenceLedger> ledger_;  // thread-safe
};

}  // namespace

std::unique_ptr<SignalStage> NewPoolBudgetStage(
    std::vector<PoolDeclaration> pools, std::optional<int> overhead,
    double near_limit_threshold, PoolEvidenceSettings evidence) {
  return std::make_unique<PoolBudgetStage>(
      std::move(pools), overhead, near_limit_threshold, std::move(evidence));
}

}  // namespace pgconn
