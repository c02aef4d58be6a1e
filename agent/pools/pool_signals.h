// Declared pools against what a snapshot observed: the budget of a target
// (Σ replicas × pool_max + overhead) against its usable connections, and per
// application how full its declared pools are. Pure arithmetic.
#ifndef PGCONN_AGENT_POOLS_POOL_SIGNALS_H_
#define PGCONN_AGENT_POOLS_POOL_SIGNALS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collect/collector.h"
#include "pgconn/clock.h"
#include "pgconn/config.h"
#include "pools/pool_evidence.h"
#include "postgres/observations.h"

namespace pgconn {

// One declared application. The observed fields are 0 when the snapshot has
// no connection of it (or no activity data at all).
struct DeclaredPoolSignals {
  std::string application;
  int64_t replicas = 0;
  int64_t pool_max = 0;      // per worker process (DB_POOL_MAX)
  int64_t pool_min = 0;      // per worker process (DB_POOL_MIN)
  int64_t declared_max = 0;  // replicas × pool_max
  int64_t declared_min = 0;  // replicas × pool_min
  int64_t connections = 0;   // client backends with this application_name
  int64_t idle = 0;          // of which in state idle
  int64_t busy = 0;  // active, idle in transaction (aborted or not), fastpath
  // connections / declared_max; nullopt when declared_max is 0 (scaled to
  // zero replicas), where any connection is excess instead.
  std::optional<double> utilization;
  std::optional<double> busy_ratio;  // busy / declared_max, likewise
  int64_t excess = 0;                // max(connections - declared_max, 0)
  int64_t idle_above_min = 0;        // max(idle - declared_min, 0)
  // Across polls; filled in by the pool-budget stage (pool_evidence.h).
  PoolEvidence evidence;
};

// An application that holds connections but is not declared; "(other)",
// the folded names, is always undeclared.
struct UndeclaredApplication {
  std::string application;
  int64_t connections = 0;
  double share = 0;  // connections / all client backends
};

struct PoolSignals {
  static constexpr std::string_view kName = "pool_signals";
  std::vector<DeclaredPoolSignals> declared;  // sorted by application
  int64_t declared_max_total = 0;
  int64_t overhead = 0;  // declared overhead; 0 when not declared
  // pgconn's own session: an ordinary slot, taken whenever the budget is
  // compared with the usable slots (the planner's --monitoring-agents 1).
  int64_t monitoring_agents = 1;
  int64_t budget = 0;  // declared_max_total + overhead + monitoring_agents
  // budget / usable connections; only when the limits are known and some
  // slot is usable.
  std::optional<double> budget_ratio;
  // The budget does not fit under threshold × usable (the planner's verdict
  // is not "ok"); only when the limits are known.
  std::optional<bool> overcommitted;
  std::vector<UndeclaredApplication> undeclared;  // sorted by application
};

// `limits` and `activity` may be null (no successful poll yet, or that
// collector failed): then only what does not need them is filled in. The
// applications of `pools` are unique: the configuration refuses a second
// declaration of one (config.cc, "is already declared at").
PoolSignals DerivePoolSignals(const std::vector<PoolDeclaration>& pools,
                              std::optional<int> overhead,
                              const ConnectionLimits* limits,
                              const Activity* activity,
                              double near_limit_threshold);

// How the pool-budget stage keeps its evidence across polls.
struct PoolEvidenceSettings {
  Duration peak_window{60000};
  double poll_interval_seconds = 5;
  const Clock* clock = nullptr;  // null: the system clock
  // Null: the stage keeps a ledger of its own (lost when it is rebuilt).
  std::shared_ptr<PoolEvidenceLedger> ledger;
};

// The pool-budget stage of a target that declares pools or an overhead:
// derives PoolSignals, records the evidence of each successful poll, and
// emits pgconn_pool_* and pgconn_undeclared_*.
std::unique_ptr<SignalStage> NewPoolBudgetStage(
    std::vector<PoolDeclaration> pools, std::optional<int> overhead,
    double near_limit_threshold, PoolEvidenceSettings evidence = {});

}  // namespace pgconn

#endif  // PGCONN_AGENT_POOLS_POOL_SIGNALS_H_
