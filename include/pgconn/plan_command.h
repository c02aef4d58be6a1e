// `pgconn-agent plan`: the capacity planner on the command line. Reads
// flags, an optional worker environment file and, when a database is
// configured, its max_connections; prints the plan as a table or JSON.
#ifndef PGCONN_PLAN_COMMAND_H_
#define PGCONN_PLAN_COMMAND_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/clock.h"
#include "pgconn/config.h"
#include "pgconn/session.h"

namespace pgconn {

// Exit codes of `plan`.
inline constexpr int kPlanFits = 0;
inline constexpr int kPlanDoesNotFit = 1;  // over the headroom or the limit,
                                           // or a lint error in the env file
inline constexpr int kPlanBadInput = 2;    // bad flag, file or variable, or
                                           // the configured database could
                                           // not be read

class PromQuerier;
struct PrometheusOptions;
// Builds the client of --from-prometheus (agent/plan/prometheus_client.h).
using PrometheusFactory = std::function<Result<std::unique_ptr<PromQuerier>>(
    const PrometheusOptions&)>;

// What the command may touch, injected so tests need no process environment
// and no database.
struct PlanCommandContext {
  EnvLookup env;                             // the process environment
  const SessionFactory* sessions = nullptr;  // to read a live target
  const Clock* clock = nullptr;
  // Null: the HTTP client of the Prometheus query API.
  PrometheusFactory prometheus;
};

// `args` are the words after "plan". Writes the plan (or help) to `out` and
// a single error line to `err`; returns the exit code.
int RunPlanCommand(const std::vector<std::string>& args,
                   const PlanCommandContext& context, std::ostream& out,
                   std::ostream& err);

std::string PlanHelp(std::string_view program);

}  // namespace pgconn

#endif  // PGCONN_PLAN_COMMAND_H_
