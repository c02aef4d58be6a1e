// The flags of `pgconn-agent plan`, as parsed, and the rules across them.
#ifndef PGCONN_AGENT_PLAN_PLAN_FLAGS_H_
#define PGCONN_AGENT_PLAN_PLAN_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/status.h"
#include "plan/from_prometheus.h"

namespace pgconn::detail {

struct PlanFlags {
  std::optional<int64_t> workers, pool_max, pool_min, overhead;
  std::optional<int64_t> monitoring_agents;
  std::optional<int64_t> max_connections, reserved;
  std::optional<double> headroom;
  std::optional<int64_t> memory_per_connection;
  std::optional<int64_t> pgbouncer_pool_size, pgbouncer_pool_max,
      pgbouncer_max_client_conn;
  std::optional<std::string> env_file, config_file, target, application,
      scale_table;
  bool offline = false;
  bool json = false;
  bool env_output = false;  // --output=env (--from-prometheus only)
  bool help = false;
  // --from-prometheus and the flags that only it reads.
  std::optional<std::string> from_prometheus;
  std::optional<double> window_seconds, end_unix, margin;
  std::vector<std::string> targets;  // every --target
  std::optional<std::string> basic_auth_user, basic_auth_password_file,
      bearer_token_file, tls_ca_file;
  std::optional<Duration> query_timeout;
};

Result<PlanFlags> ParsePlanFlags(const std::vector<std::string>& args);

// --from-prometheus sizes the declared pools from the history: the flags
// that describe one fleet by hand do not apply to it, and its own flags
// need it.
Status CheckFlagCombination(const PlanFlags& f);

// The request of --from-prometheus that the flags describe.
FromPrometheusRequest FromPrometheus(const PlanFlags& f);

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_PLAN_PLAN_FLAGS_H_
