// Resolving a plan's inputs: flags first, then the worker's env file, the
// configuration, the live server, and PostgreSQL's defaults.
#include "plan/plan_inputs.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

#include "collect/collector.h"
#include "config/dsn.h"
#include "config/guide_env.h"
#include "plan/env_file.h"
#include "plan/from_prometheus.h"
#include "plan/planner.h"
#include "plan/time_text.h"
#include "postgres/observations.h"
#include "postgres/registry.h"
#include "util/numbers.h"

namespace pgconn::detail {
namespace {

constexpr Duration kLiveTimeout{5000};

struct ServerLimits {
  int64_t max_connections = 0;
  int64_t superuser_reserved = 0;
  int64_t reserved_connections = 0;
  std::string described;  // DescribeTarget(): never a password
};

bool EnvNamesADatabase(const EnvLookup& env) {
  auto set = [&env](std::string_view name) {
    auto value = env(name);
    return value && !value->empty();
  };
  return set(kGuideDatabaseUrl) ||
         std::any_of(std::begin(kGuideConnectionVariables),
                     std::end(kGuideConnectionVariables), set);
}

Result<ServerLimits> ReadServerLimits(const TargetConfig& target,
                                      const PlanCommandContext& ctx) {
  SessionOptions options;
  options.application_name = "pgconn-plan";
  options.connect_timeout = kLiveTimeout;
  options.statement_timeout = kLiveTimeout;
  ServerLimits out;
  out.described = DescribeTarget(target);
  const std::string prefix = "cannot read max_connections from " +
                             out.described +
                             " (give --max-connections, or "
                             "--offline to plan without a database)";
  std::unique_ptr<Session> session = ctx.sessions->Create(target, options);
  const Deadline deadline = ctx.clock->Monotonic() + kLiveTimeout;
  if (Status s = session->Connect(deadline); !s.ok()) {
    return Status::Unavailable(prefix + ": " +
                               RedactSecrets(s.message(), target));
  }
  std::unique_ptr<Collector> settings =
      FindCollectorEntry(PostgresCollectors(), ConnectionLimits::kName)
          ->create();
  Snapshot snap;
  Status s = RunCollectors(*session, {settings.get()}, CollectorContext{},
                           RunOptions{}, deadline, *ctx.clock, &snap);
  session->Close();
  if (s.ok() && (snap.collectors.empty() || !snap.collectors[0].success)) {
    s = Status::InvalidData(snap.collectors.empty() ? "no result"
                                                    : snap.collectors[0].error);
  }
  if (!s.ok()) {
    return Status::Unavailable(prefix + ": " +
                               RedactSecrets(s.message(), target));
  }
  const ConnectionLimits& l = *snap.Find<ConnectionLimits>();
  out.max_connections = l.max_connections;
  out.superuser_reserved = l.superuser_reserved_connections;
  out.reserved_connections = l.reserved_connections;
  return out;
}

// Picks the PostgreSQL target of a configuration: --target, or the only one.
Result<TargetConfig> ChooseTarget(const Config& config, const PlanFlags& f) {
  std::vector<const TargetConfig*> candidates;
  std::string names;
  for (const TargetConfig& t : config.targets) {
    if (t.kind != TargetKind::kPostgres) continue;
    if (f.target && t.name != *f.target) continue;
    candidates.push_back(&t);
    names += (names.empty() ? "" : ", ") + t.name;
  }
  const std::string file = f.config_file.value_or("the environment");
  if (candidates.size() == 1) return *candidates[0];
  if (candidates.empty()) {
    return Status::InvalidArgument(
        f.target ? "--target " + *f.target +
                       ": no PostgreSQL target of that "
                       "name in " +
                       file
                 : file + " defines no PostgreSQL target");
  }
  return Status::InvalidArgument(file +
                                 " defines several PostgreSQL targets (" +
                                 names + "); choose one with --target");
}

// The declared pool of `application` on `target`: the fleet to plan.
Result<const PoolDeclaration*> FindPool(const TargetConfig& target,
                                        const std::string& application) {
  const PoolDeclaration* found = nullptr;
  std::string names;
  for (const PoolDeclaration& p : target.pools) {
    names += (names.empty() ? "" : ", ") + p.application;
    if (p.application != application) continue;
    if (found != nullptr) {
      return Status::InvalidArgument(
          "--application " + application + ": declared twice on target " +
          target.name + " (" + found->origin + ", " + p.origin + ")");
    }
    found = &p;
  }
  if (found == nullptr) {
    return Status::InvalidArgument(
        "--application " + application + ": no pool of that name on target " +
        target.name + (names.empty() ? "" : " (declared: " + names + ")"));
  }
  return found;
}

// Sets the limits from the flags, the server or PostgreSQL's defaults.
Status ResolveLimits(const PlanFlags& f,
                     const std::optional<TargetConfig>& live,
                     const PlanCommandContext& ctx, Inputs* in) {
  std::optional<ServerLimits> server;
  if (!f.max_connections && live) {
    auto limits = ReadServerLimits(*live, ctx);
    if (!limits.ok()) return limits.status();
    server = *limits;
  }
  if (f.max_connections) {
    in->plan.max_connections = *f.max_connections;
    in->sources["max_connections"] = {"flag", "--max-connections"};
  } else if (server) {
    in->plan.max_connections = server->max_connections;
    in->sources["max_connections"] = {"server",
                                      "read from " + server->described};
  } else {
    in->plan.max_connections = kPostgresDefaultMaxConnections;
    in->sources["max_connections"] = {"default", "PostgreSQL's default"};
    in->notes.push_back(
        "max_connections 100 is PostgreSQL's default; no database was read. "
        "Give --max-connections, or point --config.file, DATABASE_URL or "
        "DB_HOST at the database to read it.");
  }
  if (f.reserved) {
    in->plan.reserved = *f.reserved;
    in->sources["reserved"] = {"flag", "--reserved"};
  } else if (server) {
    in->plan.reserved =
        server->superuser_reserved + server->reserved_connections;
    in->sources["reserved"] = {
        "server", "superuser_reserved_connections " +
                      std::to_string(server->superuser_reserved) +
                      " + reserved_connections " +
                      std::to_string(server->reserved_connections)};
  } else {
    in->plan.reserved = kPostgresDefaultSuperuserReserved;
    in->sources["reserved"] = {
        "default", "PostgreSQL's default superuser_reserved_connections"};
  }
  return Status::Ok();
}

// " of pool NAME (where it is declared)", or nothing without a declaration.
std::string OfPool(const PoolDeclaration* declared) {
  return declared ? " of pool " + declared->application + " (" +
                        declared->origin + ")"
                  : "";
}

// Workers: --workers, else the declaration's replicas, else 1.
Status ResolveWorkers(const PlanFlags& f, const PoolDeclaration* declared,
                      Inputs* in) {
  if (f.workers) {
    in->plan.workers = *f.workers;
    in->sources["workers"] = {"flag", "--workers"};
  } else if (declared) {
    if (declared->replicas == 0) {
      return Status::InvalidArgument("pool " + declared->application +
                                     " is declared with 0 replicas; give "
                                     "--workers");
    }
    in->plan.workers = declared->replicas;
    in->sources["workers"] = {"config", "replicas" + OfPool(declared)};
  } else {
    in->plan.workers = 1;
    in->sources["workers"] = {"default", "default (--workers)"};
  }
  return Status::Ok();
}

// DB_POOL_MAX: --pool-max, else the env file's, else the declaration's.
Status ResolvePoolMax(const PlanFlags& f, const PoolDeclaration* declared,
                      Inputs* in) {
  const WorkerEnv* env = in->worker_env ? &*in->worker_env : nullptr;
  if (f.pool_max) {
    in->plan.pool_max = *f.pool_max;
    in->sources["pool_max"] = {"flag", "--pool-max"};
    in->pool_max_label = "--pool-max " + std::to_string(*f.pool_max);
  } else if (env && env->pool_max) {
    in->plan.pool_max = *env->pool_max;
    in->sources["pool_max"] = {"env_file", env->pool_max_where};
    in->pool_max_label = "DB_POOL_MAX=" + std::to_string(*env->pool_max) +
                         " (" + env->pool_max_where + ")";
  } else if (declared) {
    in->plan.pool_max = declared->pool_max;
    in->sources["pool_max"] = {"config", "pool_max" + OfPool(declared)};
    in->pool_max_label = "pool_max " + std::to_string(declared->pool_max) +
                         " (" + declared->origin + ")";
  } else {
    return Status::InvalidArgument(
        f.env_file
            ? "DB_POOL_MAX is not set in " + *f.env_file + "; give --pool-max"
            : "give --pool-max (the workers' DB_POOL_MAX) or "
              "--env-file");
  }
  return Status::Ok();
}

// DB_POOL_MIN: --pool-min, else the env file's, else the declaration's,
// else 0; returns how the value was given, for the error below.
std::string ResolvePoolMin(const PlanFlags& f, const PoolDeclaration* declared,
                           Inputs* in) {
  const WorkerEnv* env = in->worker_env ? &*in->worker_env : nullptr;
  std::string pool_min_label;
  if (f.pool_min) {
    in->plan.pool_min = *f.pool_min;
    in->sources["pool_min"] = {"flag", "--pool-min"};
    pool_min_label = "--pool-min " + std::to_string(*f.pool_min);
  } else if (env && env->pool_min) {
    in->plan.pool_min = *env->pool_min;
    in->sources["pool_min"] = {"env_file", env->pool_min_where};
    pool_min_label = "DB_POOL_MIN=" + std::to_string(*env->pool_min) + " (" +
                     env->pool_min_where + ")";
  } else if (declared) {
    in->plan.pool_min = declared->pool_min;
    in->sources["pool_min"] = {"config", "pool_min" + OfPool(declared)};
    pool_min_label = "pool_min " + std::to_string(declared->pool_min) + " (" +
                     declared->origin + ")";
  } else {
    in->plan.pool_min = 0;
    in->sources["pool_min"] = {"default", "default (--pool-min)"};
  }
  return pool_min_label;
}

// Sets workers and the pool sizes from the flags, the env file or defaults.
Status ResolvePools(const PlanFlags& f, const PoolDeclaration* declared,
                    Inputs* in) {
  if (Status s = ResolveWorkers(f, declared, in); !s.ok()) return s;
  if (Status s = ResolvePoolMax(f, declared, in); !s.ok()) return s;
  const std::string pool_min_label = ResolvePoolMin(f, declared, in);
  // The planner names flags; with an env file the names must be its own.
  if (in->plan.pool_min > in->plan.pool_max && in->plan.pool_max >= 1) {
    return Status::InvalidArgument(pool_min_label + " is larger than " +
                                   in->pool_max_label +
                                   ": the pool refuses to start");
  }
  return Status::Ok();
}

// What else connects to a configured target besides the planned pool: its
// declared overhead and every other declared pool at replicas × pool_max.
std::optional<Source> ConfiguredOverhead(const TargetConfig& target,
                                         const PoolDeclaration* planned,
                                         int64_t* overhead) {
  *overhead = target.overhead.value_or(0);
  std::string text =
      "target " + target.name + ": overhead " + std::to_string(*overhead);
  bool any = target.overhead.has_value();
  for (const PoolDeclaration& p : target.pools) {
    if (&p == planned) continue;
    *overhead += static_cast<int64_t>(p.replicas) * p.pool_max;
    text += " + " + p.application + " " + std::to_string(p.replicas) +
            " \u00d7 " + std::to_string(p.pool_max);
    any = true;
  }
  if (!any) return std::nullopt;
  return Source{"config", text};
}

Status ResolveRest(const PlanFlags& f, const std::optional<Config>& config,
                   const std::optional<TargetConfig>& target,
                   const PoolDeclaration* planned, Inputs* in) {
  int64_t configured = 0;
  std::optional<Source> from_config;
  if (config && target) {
    from_config = ConfiguredOverhead(*target, planned, &configured);
  }
  if (f.overhead) {
    in->plan.overhead = *f.overhead;
    in->sources["overhead"] = {"flag", "--overhead"};
  } else if (from_config) {
    in->plan.overhead = configured;
    in->sources["overhead"] = *from_config;
  } else {
    in->plan.overhead = 0;
    in->sources["overhead"] = {"default", "default (--overhead)"};
    in->notes.push_back(
        "overhead 0: the guide reserves 10-20 connections for the bot, the "
        "interface and migrations (--overhead).");
  }
  if (f.monitoring_agents) {
    in->plan.monitoring_agents = *f.monitoring_agents;
    in->sources["monitoring_agents"] = {"flag", "--monitoring-agents"};
  } else {
    in->sources["monitoring_agents"] = {"default",
                                        "pgconn itself (--monitoring-agents)"};
  }
  if (f.headroom) {
    in->plan.headroom = *f.headroom;
    in->sources["headroom"] = {"flag", "--headroom"};
  } else if (config) {
    in->plan.headroom = config->near_limit_threshold;
    in->sources["headroom"] = {"config", "near_limit_threshold"};
  } else {
    in->plan.headroom = kDefaultHeadroom;
    in->sources["headroom"] = {"default", "the guide's rule (--headroom)"};
  }
  if (f.memory_per_connection) {
    in->plan.memory_per_connection_bytes = *f.memory_per_connection;
  }
  if (f.pgbouncer_pool_size)
    in->plan.pgbouncer_pool_size = *f.pgbouncer_pool_size;
  in->plan.pgbouncer_pool_max = f.pgbouncer_pool_max;
  if (f.pgbouncer_max_client_conn) {
    in->plan.pgbouncer_max_client_conn = *f.pgbouncer_max_client_conn;
  }
  if (Status s = ValidatePlanInput(in->plan); !s.ok()) return s;
  if (!f.workers && !f.scale_table) {
    in->notes.push_back("workers 1: --workers not given.");
  }
  return Status::Ok();
}

}  // namespace

// Reads every input. Errors are bad input (exit 2).
Result<Inputs> Resolve(const PlanFlags& f, const PlanCommandContext& ctx) {
  Inputs in;
  if (f.env_file) {
    auto file = ReadEnvFile(*f.env_file);
    if (!file.ok()) return file.status();
    auto env = ReadWorkerEnv(*file);
    if (!env.ok()) return env.status();
    in.findings = env->findings;
    in.worker_env = std::move(*env);
  }
  std::optional<Config> config;
  std::optional<TargetConfig> target;
  if (f.config_file) {
    Flags agent_flags;
    agent_flags.config_file = f.config_file;
    auto c = LoadConfig(agent_flags, ctx.env);
    if (!c.ok()) return c.status();
    auto t = ChooseTarget(*c, f);
    if (!t.ok()) return t.status();
    config = std::move(*c);
    target = std::move(*t);
  } else if (f.target) {
    return Status::InvalidArgument("--target needs --config.file");
  } else if (EnvNamesADatabase(ctx.env)) {
    auto t = TargetFromEnvironment(ctx.env, nullptr);
    if (!t.ok()) return t.status();
    target = std::move(*t);
  }
  const PoolDeclaration* planned = nullptr;
  if (f.application) {
    if (!config) {
      return Status::InvalidArgument("--application needs --config.file");
    }
    auto p = FindPool(*target, *f.application);
    if (!p.ok()) return p.status();
    planned = *p;
  }
  if (Status s = ResolvePools(f, planned, &in); !s.ok()) return s;
  if (Status s = ResolveLimits(f, f.offline ? std::nullopt : target, ctx, &in);
      !s.ok()) {
    return s;
  }
  if (Status s = ResolveRest(f, config, target, planned, &in); !s.ok()) {
    return s;
  }

  const int64_t usable = in.plan.max_connections - in.plan.reserved;
  if (in.plan.pool_max > usable) {
    const Source& source = in.sources["pool_max"];
    const bool from_env = source.kind == "env_file";
    const std::string max = std::to_string(in.plan.pool_max);
    in.findings.push_back(
        {FindingSeverity::kError, from_env ? "DB_POOL_MAX" : "--pool-max",
         source.text,
         (from_env ? "DB_POOL_MAX=" + max : "--pool-max " + max) +
             " alone exceeds the " + std::to_string(usable) +
             " usable connections: one worker with a full pool is refused."});
  }
  return in;
}

}  // namespace pgconn::detail
