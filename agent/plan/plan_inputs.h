// What a plan is made of, resolved from the flags, the worker's env file,
// the configuration and the live server, each input with its source.
#ifndef PGCONN_AGENT_PLAN_PLAN_INPUTS_H_
#define PGCONN_AGENT_PLAN_PLAN_INPUTS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pgconn/plan_command.h"
#include "pgconn/status.h"
#include "plan/env_file.h"
#include "plan/plan_flags.h"
#include "plan/planner.h"

namespace pgconn::detail {

// Where each input came from: "flag", "env_file", "config", "server" or
// "default" (the JSON keys), with a phrase for the table.
struct Source {
  std::string kind;
  std::string text;
};

// Everything the plan is made of, resolved from flags, files and server.
struct Inputs {
  PlanInput plan;
  std::map<std::string, Source> sources;  // by PlanInput field name
  std::string pool_max_label;  // "--pool-max 120" or "DB_POOL_MAX=120 (f:9)"
  std::optional<WorkerEnv> worker_env;
  std::vector<Finding> findings;
  std::vector<std::string> notes;
};

Result<Inputs> Resolve(const PlanFlags& f, const PlanCommandContext& ctx);

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_PLAN_PLAN_INPUTS_H_
