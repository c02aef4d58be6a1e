// The capacity arithmetic of the connection-pooling guide, as pure functions:
// workers × DB_POOL_MAX plus overhead against the usable part of
// max_connections, the 80 % headroom rule, and the guide's three ways out
// (a smaller pool, a larger max_connections, PgBouncer) as concrete numbers.
//
// Both the `plan` subcommand and the agent's pool-budget metrics classify a
// total with ClassifyTotal() (pools/budget.h), so that a plan that says "ok"
// before a deploy and the pgconn_pool_overcommitted flag after it never
// disagree.
#ifndef PGCONN_AGENT_PLAN_PLANNER_H_
#define PGCONN_AGENT_PLAN_PLANNER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/status.h"
#include "pools/budget.h"

namespace pgconn {

// PostgreSQL's defaults and the guide's numbers.
inline constexpr int64_t kPostgresDefaultMaxConnections = 100;
inline constexpr int64_t kPostgresDefaultSuperuserReserved = 3;
inline constexpr int64_t kPostgresMaxConnectionsLimit = 262143;
inline constexpr double kDefaultHeadroom = 0.8;
inline constexpr int64_t kDefaultMemoryPerConnection = 10LL * 1024 * 1024;
inline constexpr int64_t kGuidePgBouncerPoolSize = 25;
inline constexpr int64_t kGuidePgBouncerMaxClientConn = 1000;
// "Use PgBouncer (Recommended for 10+ workers)".
inline constexpr int64_t kGuidePgBouncerFromWorkers = 10;

// Bytes of server memory for `connections` at `per_connection` bytes each.
int64_t ServerMemoryBytes(int64_t connections, int64_t per_connection);

struct PlanInput {
  int64_t workers = 1;    // worker processes (replicas)
  int64_t pool_max = 10;  // DB_POOL_MAX, per worker
  int64_t pool_min = 0;   // DB_POOL_MIN, per worker
  int64_t overhead = 0;   // bot, interface, migrations: everything else
  // Sessions of monitoring agents (pgconn itself): each takes an ordinary
  // slot, like any client backend.
  int64_t monitoring_agents = 1;
  int64_t max_connections = kPostgresDefaultMaxConnections;
  int64_t reserved = kPostgresDefaultSuperuserReserved;
  double headroom = kDefaultHeadroom;
  int64_t memory_per_connection_bytes = kDefaultMemoryPerConnection;
  int64_t pgbouncer_pool_size = kGuidePgBouncerPoolSize;
  // DB_POOL_MAX the workers use behind PgBouncer; unset means they keep
  // `pool_max` (the guide lowers it to 5).
  std::optional<int64_t> pgbouncer_pool_max;
  int64_t pgbouncer_max_client_conn = kGuidePgBouncerMaxClientConn;
};

// Checks ranges and consistency; the message names the input field as the
// flag that sets it ("--pool-min 12 is larger than --pool-max 10").
Status ValidatePlanInput(const PlanInput& input);

// Option 1: the largest DB_POOL_MAX that keeps the total under the headroom.
struct ReducePoolMaxOption {
  std::optional<int64_t> pool_max;  // nullopt: the fixed part alone is too much
  int64_t total_connections = 0;    // with that pool_max
  double utilization_ratio = 0;
};

// Option 2: the smallest max_connections under which the total fits the
// headroom, and what the extra connections cost in server memory.
struct RaiseMaxConnectionsOption {
  int64_t max_connections = 0;         // needed; may be <= the current value
  int64_t additional_connections = 0;  // max(needed - current, 0)
  int64_t additional_memory_bytes = 0;
  int64_t total_memory_bytes = 0;      // for all `max_connections` connections
  bool beyond_postgres_limit = false;  // needed > 262143
};

// Option 3: workers talk to PgBouncer, PgBouncer holds a small server pool.
struct PgBouncerOption {
  int64_t pool_size = 0;           // default_pool_size
  int64_t server_connections = 0;  // min(pool_size, logical) + fixed
  double utilization_ratio = 0;
  Verdict verdict = Verdict::kOk;
  int64_t client_pool_max = 0;      // DB_POOL_MAX behind PgBouncer
  int64_t logical_connections = 0;  // workers × client_pool_max
  int64_t max_client_conn = 0;
  bool logical_fit = true;   // logical_connections <= max_client_conn
  bool recommended = false;  // workers >= 10, the guide's advice
};

struct Plan {
  PlanInput input;
  int64_t worker_connections = 0;  // workers × pool_max
  int64_t min_connections = 0;     // workers × pool_min: kept open when idle
  int64_t total_connections = 0;   // worker_connections + fixed
  int64_t fixed_connections = 0;   // overhead + monitoring_agents
  int64_t usable_connections = 0;  // max_connections - reserved
  int64_t headroom_connections = 0;
  double utilization_ratio = 0;  // total / usable
  Verdict verdict = Verdict::kOk;
  ReducePoolMaxOption reduce_pool_max;
  RaiseMaxConnectionsOption raise_max_connections;
  PgBouncerOption use_pgbouncer;
};

// The whole plan; fails only when ValidatePlanInput() does.
Result<Plan> MakePlan(const PlanInput& input);

// One line of the guide's "workers × DB_POOL_MAX" table.
struct ScaleRow {
  int64_t workers = 0;
  int64_t total_connections = 0;
  double utilization_ratio = 0;
  Verdict verdict = Verdict::kOk;
  std::optional<int64_t> largest_pool_max;  // that fits the headroom
};

// The table for each of `worker_counts`, the rest taken from `base`.
Result<std::vector<ScaleRow>> MakeScaleTable(
    const PlanInput& base, const std::vector<int64_t>& worker_counts);

// Parses the worker counts of --scale-table: "1,5,10,20", "1-10" or a mix
// ("1-3,10"), ascending and without repeats in the result, at most 1000.
Result<std::vector<int64_t>> ParseWorkerCounts(std::string_view spec);

// Parses a memory size in PostgreSQL's units (kB, MB, GB, TB; 1024-based;
// "B" for bytes): "10MB", "512kB". A unit is required.
Result<int64_t> ParseMemorySize(std::string_view text);

// "280 MB", "1.9 GB", "512 kB": 1024-based like PostgreSQL.
std::string FormatMemory(int64_t bytes);

}  // namespace pgconn

#endif  // PGCONN_AGENT_PLAN_PLANNER_H_
