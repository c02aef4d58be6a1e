// `pgconn-agent plan --from-prometheus=URL`: reads the evidence of every
// target (or the --target ones), applies the right-sizing rule and writes
// the table, JSON or env lines. The flags are parsed by plan_command.cc.
#ifndef PGCONN_AGENT_PLAN_FROM_PROMETHEUS_H_
#define PGCONN_AGENT_PLAN_FROM_PROMETHEUS_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "pgconn/plan_command.h"
#include "plan/prometheus_client.h"
#include "plan/rightsizing.h"

namespace pgconn {

inline constexpr double kDefaultWindowSeconds = 7 * 86400;

enum class RightSizingFormat { kTable, kJson, kEnv };

struct FromPrometheusRequest {
  PrometheusOptions prometheus;
  std::optional<double> window_seconds;  // default 7d
  std::optional<double> end_unix;        // default now
  std::vector<std::string> targets;      // default every target found
  RightSizingSettings settings;          // margin, overrides
  RightSizingFormat format = RightSizingFormat::kTable;
};

// Exit codes as `plan`: 0 every target's verdict is ok, 1 one is not, 2 bad
// input or the server could not be read (one line on `err` naming the URL
// without its password).
int RunFromPrometheus(const FromPrometheusRequest& request,
                      const PlanCommandContext& context, std::ostream& out,
                      std::ostream& err);

}  // namespace pgconn

#endif  // PGCONN_AGENT_PLAN_FROM_PROMETHEUS_H_
