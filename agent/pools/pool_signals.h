// Declared pools against what a snapshot observed: the budget of a target
// (Σ replicas × pool_max + overhead) against its usable connections, and per
// application how full its declared pools are. Pure arithmetic.
#ifndef PGCONN_AGENT_POOLS_POOL_SIGNALS_H_
#define PGCONN_AGENT_POOLS_POOL_SIGNALS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collect/snapshot.h"
#include "pgconn/config.h"

namespace pgconn {

// One declared application. The observed fields are 0 when the snapshot has
// no connection of it (or no activity data at all).
struct DeclaredPoolSignals {
  std::string application;
  int64_t replicas = 0;
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
};

// An application that holds connections but is not declared; "(other)",
// the folded names, is always undeclared.
struct UndeclaredApplication {
  std::string application;
  int64_t connections = 0;
  double share = 0;  // connections / all client backends
};

struct PoolSignals {
  std::vector<DeclaredPoolSignals> declared;  // sorted by application
  int64_t declared_max_total = 0;
  int64_t overhead = 0;  // declared overhead; 0 when not declared
  int64_t budget = 0;    // declared_max_total + overhead
  // budget / usable connections; only when the limits are known and some
  // slot is usable.
  std::optional<double> budget_ratio;
  // The budget does not fit under threshold × usable (the planner's verdict
  // is not "ok"); only when the limits are known.
  std::optional<bool> overcommitted;
  std::vector<UndeclaredApplication> undeclared;  // sorted by application
};

// `data` may be null (no successful poll yet): then only the declared side
// is filled in. The same application declared twice adds up.
PoolSignals DerivePoolSignals(const std::vector<PoolDeclaration>& pools,
                              std::optional<int> overhead,
                              const PostgresData* data,
                              double near_limit_threshold);

}  // namespace pgconn

#endif  // PGCONN_AGENT_POOLS_POOL_SIGNALS_H_
