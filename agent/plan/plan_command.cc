#include "pgconn/plan_command.h"

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
#include "util/flags.h"
#include "util/json_writer.h"
#include "util/numbers.h"

namespace pgconn {
namespace {

constexpr std::string_view kDefaultScaleTable = "1,5,10,20";
constexpr Duration kLiveTimeout{5000};

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

// A flag value that the number parser refused. Only the form is checked
// here: ValidatePlanInput() checks each input's range and names its flag.
Status NotANumberFlag(const std::string& name, std::string_view value,
                      std::string_view expected) {
  return Status::InvalidArgument("flag --" + name + "=" + Excerpt(value) +
                                 ": not " + std::string(expected));
}

Result<PlanFlags> ParsePlanFlags(const std::vector<std::string>& args) {
  PlanFlags f;
  const std::map<std::string, std::optional<int64_t> PlanFlags::*> ints = {
      {"workers", &PlanFlags::workers},
      {"pool-max", &PlanFlags::pool_max},
      {"pool-min", &PlanFlags::pool_min},
      {"overhead", &PlanFlags::overhead},
      {"monitoring-agents", &PlanFlags::monitoring_agents},
      {"max-connections", &PlanFlags::max_connections},
      {"reserved", &PlanFlags::reserved},
      {"pgbouncer-pool-size", &PlanFlags::pgbouncer_pool_size},
      {"pgbouncer-pool-max", &PlanFlags::pgbouncer_pool_max},
      {"pgbouncer-max-client-conn", &PlanFlags::pgbouncer_max_client_conn},
  };
  const std::map<std::string, std::optional<std::string> PlanFlags::*> strings =
      {{"env-file", &PlanFlags::env_file},
       {"config.file", &PlanFlags::config_file},
       {"target", &PlanFlags::target},
       {"application", &PlanFlags::application},
       {"from-prometheus", &PlanFlags::from_prometheus},
       {"basic-auth-user", &PlanFlags::basic_auth_user},
       {"basic-auth-password-file", &PlanFlags::basic_auth_password_file},
       {"bearer-token-file", &PlanFlags::bearer_token_file},
       {"tls-ca-file", &PlanFlags::tls_ca_file}};
  FlagReader r(args, "plan --help");
  while (true) {
    auto more = r.Next();
    if (!more.ok()) return more.status();
    if (!*more) break;
    const std::string name = r.name();
    if (name == "help") {
      f.help = true;
    } else if (name == "offline") {
      f.offline = true;
    } else if (name == "scale-table") {
      // The counts are optional, so a following flag is not taken for them.
      f.scale_table =
          r.OptionalValue().value_or(std::string(kDefaultScaleTable));
    } else if (auto it = ints.find(name); it != ints.end()) {
      auto v = r.Value();
      if (!v.ok()) return v.status();
      auto n = ParseInt64(*v);
      if (!n.ok()) return NotANumberFlag(name, *v, "a whole number");
      f.*(it->second) = *n;
    } else if (auto st = strings.find(name); st != strings.end()) {
      auto v = r.Value();
      if (!v.ok()) return v.status();
      f.*(st->second) = *v;
      if (name == "target") f.targets.push_back(*v);
    } else if (name == "window" || name == "query-timeout") {
      auto v = r.Value();
      if (!v.ok()) return v.status();
      auto d = ParseDuration(*v);
      if (!d.ok() || *d <= Duration(0)) {
        return Status::InvalidArgument(
            "flag --" + name + "=" + Excerpt(*v) +
            ": not a positive duration (such as 7d, 36h, 90s)");
      }
      if (name == "window") {
        f.window_seconds = std::chrono::duration<double>(*d).count();
      } else {
        f.query_timeout = *d;
      }
    } else if (name == "end") {
      auto v = r.Value();
      if (!v.ok()) return v.status();
      auto t = ParseTimeText(*v);
      if (!t.ok()) {
        return Status::InvalidArgument("flag --end: " + t.status().message());
      }
      f.end_unix = *t;
    } else if (name == "margin") {
      auto v = r.Value();
      if (!v.ok()) return v.status();
      auto m = ParseDoubleInRange(*v, 0, 10);
      if (!m.ok()) {
        return Status::InvalidArgument("flag --margin=" + Excerpt(*v) +
                                       ": not a ratio in [0, 10] (0.25 "
                                       "is 25 %)");
      }
      f.margin = *m;
    } else if (name == "headroom") {
      auto v = r.Value();
      if (!v.ok()) return v.status();
      auto h = ParseDouble(*v);
      if (!h.ok()) return NotANumberFlag(name, *v, "a number (such as 0.8)");
      f.headroom = *h;
    } else if (name == "memory-per-connection") {
      auto v = r.Value();
      if (!v.ok()) return v.status();
      auto bytes = ParseMemorySize(*v);
      if (!bytes.ok()) {
        return Status::InvalidArgument("flag --memory-per-connection: " +
                                       bytes.status().message());
      }
      f.memory_per_connection = *bytes;
    } else if (name == "output") {
      auto v = r.Value();
      if (!v.ok()) return v.status();
      if (*v != "table" && *v != "json" && *v != "env") {
        return Status::InvalidArgument("flag --output=" + Excerpt(*v) +
                                       ": not one of table, json, env");
      }
      f.json = *v == "json";
      f.env_output = *v == "env";
    } else {
      return r.Unknown();
    }
  }
  return f;
}

// Where each input came from: "flag", "env_file", "config", "server" or
// "default" (the JSON keys), with a phrase for the table.
struct Source {
  std::string kind;
  std::string text;
};

struct ServerLimits {
  int64_t max_connections = 0;
  int64_t superuser_reserved = 0;
  int64_t reserved_connections = 0;
  std::string described;  // DescribeTarget(): never a password
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

std::string Plural(int64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
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

// Sets workers and the pool sizes from the flags, the env file or defaults.
Status ResolvePools(const PlanFlags& f, const PoolDeclaration* declared,
                    Inputs* in) {
  const WorkerEnv* env = in->worker_env ? &*in->worker_env : nullptr;
  const std::string of_pool = declared ? " of pool " + declared->application +
                                             " (" + declared->origin + ")"
                                       : "";
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
    in->sources["workers"] = {"config", "replicas" + of_pool};
  } else {
    in->plan.workers = 1;
    in->sources["workers"] = {"default", "default (--workers)"};
  }
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
    in->sources["pool_max"] = {"config", "pool_max" + of_pool};
    in->pool_max_label = "pool_max " + std::to_string(declared->pool_max) +
                         " (" + declared->origin + ")";
  } else {
    return Status::InvalidArgument(
        f.env_file
            ? "DB_POOL_MAX is not set in " + *f.env_file + "; give --pool-max"
            : "give --pool-max (the workers' DB_POOL_MAX) or "
              "--env-file");
  }
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
    in->sources["pool_min"] = {"config", "pool_min" + of_pool};
    pool_min_label = "pool_min " + std::to_string(declared->pool_min) + " (" +
                     declared->origin + ")";
  } else {
    in->plan.pool_min = 0;
    in->sources["pool_min"] = {"default", "default (--pool-min)"};
  }
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

std::string Percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %%", ratio * 100);
  return buf;
}

std::string HeadroomText(double headroom) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g %%", headroom * 100);
  return buf;
}

bool HasErrors(const std::vector<Finding>& findings) {
  for (const Finding& f : findings) {
    if (f.severity == FindingSeverity::kError) return true;
  }
  return false;
}

// Rows of label, value and detail; a detail that does not fit beside the
// value goes on the next line, under it.
class TextTable {
 public:
  explicit TextTable(std::ostream& out) : out_(out) {}

  void Row(std::string_view label, const std::string& value,
           const std::string& detail = "") {
    std::string line = Pad("  " + std::string(label), kValueColumn) + value;
    if (!detail.empty()) {
      if (value.size() < kValueWidth) {
        line = Pad(line, kValueColumn + kValueWidth) + detail;
      } else {
        line += "\n" + std::string(kValueColumn, ' ') + detail;
      }
    }
    out_ << line << "\n";
  }

  // An option: its name and setting, then one line per consequence.
  void Block(std::string_view label, const std::string& value,
             const std::vector<std::string>& lines) {
    out_ << Pad("  " + std::string(label), kBlockColumn) << value << "\n";
    for (const std::string& l : lines) {
      out_ << std::string(kBlockColumn, ' ') << l << "\n";
    }
  }

 private:
  static constexpr size_t kValueColumn = 24;
  static constexpr size_t kValueWidth = 9;
  static constexpr size_t kBlockColumn = 29;

  static std::string Pad(std::string s, size_t width) {
    s.resize(std::max(s.size() + 1, width), ' ');
    return s;
  }
  std::ostream& out_;
};

std::string VerdictText(const Plan& p) {
  const std::string t = std::to_string(p.total_connections);
  switch (p.verdict) {
    case Verdict::kOk:
      return t + " <= " + std::to_string(p.headroom_connections) +
             ": fits under the headroom line";
    case Verdict::kOverHeadroom:
      return t + " > " + std::to_string(p.headroom_connections) +
             ": past the headroom line, within the " +
             std::to_string(p.usable_connections) + " usable";
    case Verdict::kOverLimit:
      return t + " > " + std::to_string(p.usable_connections) +
             " usable: full pools are refused (\"sorry, too many clients "
             "already\")";
  }
  return "";
}

void WriteFindingsAndNotes(const std::vector<Finding>& findings,
                           const std::vector<std::string>& notes,
                           std::ostream& out) {
  if (!findings.empty()) {
    out << "\nFindings\n";
    for (const Finding& f : findings) {
      out << "  " << FindingSeverityName(f.severity) << ": " << f.where << ": "
          << f.message << "\n";
    }
  }
  if (!notes.empty()) {
    out << "\nNotes\n";
    for (const std::string& n : notes) out << "  - " << n << "\n";
  }
}

std::string Times(int64_t a, int64_t b) {
  return std::to_string(a) + " \u00d7 " + std::to_string(b);
}

// The overhead and, when there are any, the monitoring agents: "20 + 1 agent".
std::string FixedText(const PlanInput& i) {
  std::string text = std::to_string(i.overhead);
  if (i.monitoring_agents > 0) {
    text += " + " + Plural(i.monitoring_agents, "agent");
  }
  return text;
}

void WriteInputsText(const Inputs& in, TextTable& t) {
  const PlanInput& i = in.plan;
  auto source = [&](const std::string& field) {
    auto it = in.sources.find(field);
    return it == in.sources.end() ? std::string() : it->second.text;
  };
  t.Row("workers", std::to_string(i.workers), source("workers"));
  t.Row("DB_POOL_MAX", std::to_string(i.pool_max), source("pool_max"));
  t.Row("DB_POOL_MIN", std::to_string(i.pool_min), source("pool_min"));
  t.Row("overhead", std::to_string(i.overhead), source("overhead"));
  t.Row("monitoring agents", std::to_string(i.monitoring_agents),
        source("monitoring_agents"));
  t.Row("max_connections", std::to_string(i.max_connections),
        source("max_connections"));
  t.Row("reserved", std::to_string(i.reserved), source("reserved"));
  t.Row("headroom", HeadroomText(i.headroom), source("headroom"));
  if (!in.worker_env) return;
  const WorkerEnv& env = *in.worker_env;
  if (env.max_queries) {
    t.Row("DB_MAX_QUERIES", std::to_string(*env.max_queries),
          "queries before a connection is replaced");
  }
  if (env.max_idle_time_seconds) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g s", *env.max_idle_time_seconds);
    t.Row("DB_MAX_IDLE_TIME", buf, "idle time before a connection closes");
  }
}

void WriteOptionsText(const Plan& p, TextTable& t) {
  const PlanInput& i = p.input;
  const ReducePoolMaxOption& r = p.reduce_pool_max;
  if (r.pool_max) {
    t.Block("1. reduce_pool_max", "DB_POOL_MAX=" + std::to_string(*r.pool_max),
            {"the largest that fits: " + Times(i.workers, *r.pool_max) + " + " +
             FixedText(i) + " = " + std::to_string(r.total_connections) +
             " connections, " + Percent(r.utilization_ratio) + " of usable"});
  } else {
    t.Block("1. reduce_pool_max", "none fits",
            {"even DB_POOL_MAX=1 gives " + Times(i.workers, 1) + " + " +
             FixedText(i) + " = " +
             std::to_string(i.workers + p.fixed_connections) + " > " +
             std::to_string(p.headroom_connections)});
  }
  const RaiseMaxConnectionsOption& m = p.raise_max_connections;
  std::vector<std::string> raise;
  if (m.additional_connections == 0) {
    raise.push_back("the least that fits; the current " +
                    std::to_string(i.max_connections) + " already does");
  } else {
    raise.push_back("the least that fits: +" +
                    std::to_string(m.additional_connections) +
                    " connections; needs a PostgreSQL restart");
    raise.push_back("about +" + FormatMemory(m.additional_memory_bytes) +
                    " of server memory at " +
                    FormatMemory(i.memory_per_connection_bytes) +
                    " per connection");
  }
  if (m.beyond_postgres_limit) {
    raise.push_back("beyond PostgreSQL's largest max_connections, 262143");
  }
  t.Block("2. raise_max_connections",
          "max_connections=" + std::to_string(m.max_connections), raise);
  const PgBouncerOption& b = p.use_pgbouncer;
  std::vector<std::string> bouncer = {
      std::to_string(b.server_connections) + " connections to PostgreSQL, " +
          Percent(b.utilization_ratio) + " of usable (" +
          std::string(VerdictName(b.verdict)) + ")",
      "workers keep " + Times(i.workers, b.client_pool_max) + " = " +
          std::to_string(b.logical_connections) + " logical connections " +
          (b.logical_fit ? "(max_client_conn "
                         : "(more than max_client_conn ") +
          std::to_string(b.max_client_conn) + ")"};
  if (b.recommended) {
    bouncer.push_back("the guide recommends PgBouncer from 10 workers");
  }
  t.Block("3. use_pgbouncer",
          "default_pool_size=" + std::to_string(b.pool_size), bouncer);
}

void WritePlanText(const Plan& p, const Inputs& in, std::ostream& out) {
  const PlanInput& i = p.input;
  TextTable t(out);
  out << "Capacity plan: " << Plural(i.workers, "worker")
      << " \u00d7 DB_POOL_MAX " << i.pool_max << " against max_connections "
      << i.max_connections << "\n\nInputs\n";
  WriteInputsText(in, t);
  out << "\nBudget\n";
  t.Row("total connections", std::to_string(p.total_connections),
        Plural(i.workers, "worker") + " \u00d7 DB_POOL_MAX " +
            std::to_string(i.pool_max) + " + overhead " + FixedText(i));
  t.Row("kept open when idle", std::to_string(p.min_connections),
        Plural(i.workers, "worker") + " \u00d7 DB_POOL_MIN " +
            std::to_string(i.pool_min));
  t.Row("usable connections", std::to_string(p.usable_connections),
        "max_connections " + std::to_string(i.max_connections) +
            " - reserved " + std::to_string(i.reserved));
  t.Row("headroom line", std::to_string(p.headroom_connections),
        HeadroomText(i.headroom) + " of " +
            std::to_string(p.usable_connections) + ", rounded down");
  t.Row("utilization", Percent(p.utilization_ratio), "of usable");
  t.Row("verdict", std::string(VerdictName(p.verdict)), VerdictText(p));
  out << "\nOptions\n";
  WriteOptionsText(p, t);
  WriteFindingsAndNotes(in.findings, in.notes, out);
}

void WriteFindingsAndNotesJson(const std::vector<Finding>& findings,
                               const std::vector<std::string>& notes,
                               JsonWriter& w) {
  w.Key("findings").BeginArray();
  for (const Finding& f : findings) {
    w.BeginObject()
        .Key("severity")
        .String(FindingSeverityName(f.severity))
        .Key("variable")
        .String(f.variable)
        .Key("where")
        .String(f.where)
        .Key("message")
        .String(f.message)
        .EndObject();
  }
  w.EndArray();
  w.Key("notes").BeginArray();
  for (const std::string& n : notes) w.String(n);
  w.EndArray();
}

void WritePlanJson(const Plan& p, const Inputs& in, std::ostream& out) {
  const PlanInput& i = p.input;
  JsonWriter w;
  w.BeginObject();
  w.Key("total_connections").Int(p.total_connections);
  w.Key("usable_connections").Int(p.usable_connections);
  w.Key("utilization_ratio").Double(p.utilization_ratio);
  w.Key("verdict").String(VerdictName(p.verdict));
  w.Key("headroom_connections").Int(p.headroom_connections);
  w.Key("worker_connections").Int(p.worker_connections);
  w.Key("min_connections").Int(p.min_connections);
  w.Key("inputs").BeginObject();
  w.Key("workers").Int(i.workers);
  w.Key("pool_max").Int(i.pool_max);
  w.Key("pool_min").Int(i.pool_min);
  w.Key("overhead").Int(i.overhead);
  w.Key("monitoring_agents").Int(i.monitoring_agents);
  w.Key("max_connections").Int(i.max_connections);
  w.Key("reserved").Int(i.reserved);
  w.Key("headroom_ratio").Double(i.headroom);
  w.Key("memory_per_connection_bytes").Int(i.memory_per_connection_bytes);
  w.Key("pgbouncer_pool_size").Int(i.pgbouncer_pool_size);
  w.Key("pgbouncer_pool_max").Int(p.use_pgbouncer.client_pool_max);
  w.Key("pgbouncer_max_client_conn").Int(i.pgbouncer_max_client_conn);
  w.Key("sources").BeginObject();
  for (const auto& [field, source] : in.sources)
    w.Key(field).String(source.kind);
  w.EndObject();
  w.EndObject();

  w.Key("options").BeginArray();
  const ReducePoolMaxOption& r = p.reduce_pool_max;
  w.BeginObject().Key("kind").String("reduce_pool_max");
  w.Key("pool_max").OptionalInt(r.pool_max);
  if (r.pool_max) {
    w.Key("total_connections").Int(r.total_connections);
    w.Key("utilization_ratio").Double(r.utilization_ratio);
  } else {
    w.Key("total_connections").Null();
    w.Key("utilization_ratio").Null();
  }
  w.EndObject();
  const RaiseMaxConnectionsOption& m = p.raise_max_connections;
  w.BeginObject().Key("kind").String("raise_max_connections");
  w.Key("max_connections").Int(m.max_connections);
  w.Key("additional_connections").Int(m.additional_connections);
  w.Key("additional_memory_bytes").Int(m.additional_memory_bytes);
  w.Key("total_memory_bytes").Int(m.total_memory_bytes);
  w.Key("restart_required").Bool(m.additional_connections > 0);
  w.Key("beyond_postgres_limit").Bool(m.beyond_postgres_limit);
  w.EndObject();
  const PgBouncerOption& b = p.use_pgbouncer;
  w.BeginObject().Key("kind").String("use_pgbouncer");
  w.Key("default_pool_size").Int(b.pool_size);
  w.Key("server_connections").Int(b.server_connections);
  w.Key("utilization_ratio").Double(b.utilization_ratio);
  w.Key("verdict").String(VerdictName(b.verdict));
  w.Key("pool_max").Int(b.client_pool_max);
  w.Key("logical_connections").Int(b.logical_connections);
  w.Key("max_client_conn").Int(b.max_client_conn);
  w.Key("logical_connections_fit").Bool(b.logical_fit);
  w.Key("recommended").Bool(b.recommended);
  w.EndObject();
  w.EndArray();
  WriteFindingsAndNotesJson(in.findings, in.notes, w);
  w.EndObject();
  out << w.Take();
}

void WriteScaleText(const std::vector<ScaleRow>& rows, const Inputs& in,
                    std::ostream& out) {
  const PlanInput& i = in.plan;
  const int64_t usable = i.max_connections - i.reserved;
  out << "Scale table: DB_POOL_MAX " << i.pool_max << ", overhead "
      << FixedText(i) << ", max_connections " << i.max_connections
      << " (reserved " << i.reserved << ", " << usable
      << " usable, headroom line " << HeadroomConnections(usable, i.headroom)
      << ")\n\n";
  char line[160];
  std::snprintf(line, sizeof(line), "  %7s  %7s  %9s  %-13s  %s\n", "workers",
                "total", "of usable", "verdict",
                "largest DB_POOL_MAX that fits");
  out << line;
  for (const ScaleRow& r : rows) {
    const std::string largest = r.largest_pool_max
                                    ? std::to_string(*r.largest_pool_max)
                                    : std::string("none");
    std::snprintf(line, sizeof(line), "  %7lld  %7lld  %9s  %-13s  %s\n",
                  static_cast<long long>(r.workers),
                  static_cast<long long>(r.total_connections),
                  Percent(r.utilization_ratio).c_str(),
                  std::string(VerdictName(r.verdict)).c_str(), largest.c_str());
    out << line;
  }
  WriteFindingsAndNotes(in.findings, in.notes, out);
}

void WriteScaleJson(const std::vector<ScaleRow>& rows, const Inputs& in,
                    std::ostream& out) {
  const PlanInput& i = in.plan;
  const int64_t usable = i.max_connections - i.reserved;
  JsonWriter w;
  w.BeginObject();
  w.Key("pool_max").Int(i.pool_max);
  w.Key("overhead").Int(i.overhead);
  w.Key("monitoring_agents").Int(i.monitoring_agents);
  w.Key("max_connections").Int(i.max_connections);
  w.Key("reserved").Int(i.reserved);
  w.Key("usable_connections").Int(usable);
  w.Key("headroom_ratio").Double(i.headroom);
  w.Key("headroom_connections").Int(HeadroomConnections(usable, i.headroom));
  w.Key("rows").BeginArray();
  for (const ScaleRow& r : rows) {
    w.BeginObject()
        .Key("workers")
        .Int(r.workers)
        .Key("total_connections")
        .Int(r.total_connections)
        .Key("utilization_ratio")
        .Double(r.utilization_ratio)
        .Key("verdict")
        .String(VerdictName(r.verdict))
        .Key("largest_pool_max")
        .OptionalInt(r.largest_pool_max)
        .EndObject();
  }
  w.EndArray();
  WriteFindingsAndNotesJson(in.findings, in.notes, w);
  w.EndObject();
  out << w.Take();
}

// --from-prometheus sizes the declared pools from the history: the flags
// that describe one fleet by hand do not apply to it, and its own flags
// need it.
Status CheckFlagCombination(const PlanFlags& f) {
  if (f.from_prometheus) {
    const std::pair<bool, const char*> by_hand[] = {
        {f.workers.has_value(), "--workers"},
        {f.pool_max.has_value(), "--pool-max"},
        {f.pool_min.has_value(), "--pool-min"},
        {f.env_file.has_value(), "--env-file"},
        {f.config_file.has_value(), "--config.file"},
        {f.application.has_value(), "--application"},
        {f.scale_table.has_value(), "--scale-table"},
        {f.offline, "--offline"},
        {f.pgbouncer_pool_max.has_value(), "--pgbouncer-pool-max"},
    };
    for (const auto& [given, flag] : by_hand) {
      if (given) {
        return Status::InvalidArgument(
            std::string(flag) +
            " does not apply with --from-prometheus: the pools, replicas "
            "and limits come from the agent's metrics (use --target to "
            "choose targets)");
      }
    }
    return Status::Ok();
  }
  const std::pair<bool, const char*> needs_prometheus[] = {
      {f.window_seconds.has_value(), "--window"},
      {f.end_unix.has_value(), "--end"},
      {f.margin.has_value(), "--margin"},
      {f.env_output, "--output=env"},
      {f.basic_auth_user.has_value(), "--basic-auth-user"},
      {f.basic_auth_password_file.has_value(), "--basic-auth-password-file"},
      {f.bearer_token_file.has_value(), "--bearer-token-file"},
      {f.tls_ca_file.has_value(), "--tls-ca-file"},
      {f.query_timeout.has_value(), "--query-timeout"},
  };
  for (const auto& [given, flag] : needs_prometheus) {
    if (given) {
      return Status::InvalidArgument(std::string(flag) +
                                     " needs --from-prometheus=URL");
    }
  }
  if (f.targets.size() > 1) {
    return Status::InvalidArgument(
        "--target is given more than once; only --from-prometheus plans "
        "several targets");
  }
  return Status::Ok();
}

FromPrometheusRequest FromPrometheus(const PlanFlags& f) {
  FromPrometheusRequest r;
  r.prometheus.url = *f.from_prometheus;
  r.prometheus.basic_auth_user = f.basic_auth_user;
  r.prometheus.basic_auth_password_file = f.basic_auth_password_file;
  r.prometheus.bearer_token_file = f.bearer_token_file;
  r.prometheus.ca_file = f.tls_ca_file;
  if (f.query_timeout) r.prometheus.timeout = *f.query_timeout;
  r.window_seconds = f.window_seconds;
  r.end_unix = f.end_unix;
  r.targets = f.targets;
  std::sort(r.targets.begin(), r.targets.end());
  r.targets.erase(std::unique(r.targets.begin(), r.targets.end()),
                  r.targets.end());
  RightSizingSettings& s = r.settings;
  s.margin = f.margin.value_or(kDefaultMargin);
  s.headroom = f.headroom;
  if (f.monitoring_agents) s.monitoring_agents = *f.monitoring_agents;
  s.overhead = f.overhead;
  s.max_connections = f.max_connections;
  s.reserved = f.reserved;
  if (f.memory_per_connection) {
    s.memory_per_connection_bytes = *f.memory_per_connection;
  }
  s.pgbouncer_pool_size = f.pgbouncer_pool_size;
  if (f.pgbouncer_max_client_conn) {
    s.pgbouncer_max_client_conn = *f.pgbouncer_max_client_conn;
  }
  r.format = f.json         ? RightSizingFormat::kJson
             : f.env_output ? RightSizingFormat::kEnv
                            : RightSizingFormat::kTable;
  return r;
}

}  // namespace

int RunPlanCommand(const std::vector<std::string>& args,
                   const PlanCommandContext& ctx, std::ostream& out,
                   std::ostream& err) {
  auto bad_input = [&err](const Status& s) {
    err << "pgconn-agent plan: " << s.message() << "\n";
    return kPlanBadInput;
  };
  auto flags = ParsePlanFlags(args);
  if (!flags.ok()) return bad_input(flags.status());
  if (flags->help) {
    out << PlanHelp("pgconn-agent");
    return kPlanFits;
  }
  if (Status s = CheckFlagCombination(*flags); !s.ok()) return bad_input(s);
  if (flags->from_prometheus) {
    return RunFromPrometheus(FromPrometheus(*flags), ctx, out, err);
  }
  std::optional<std::vector<int64_t>> counts;
  if (flags->scale_table) {
    auto c = ParseWorkerCounts(*flags->scale_table);
    if (!c.ok()) return bad_input(c.status());
    counts = std::move(*c);
  }
  auto in = Resolve(*flags, ctx);
  if (!in.ok()) return bad_input(in.status());
  const bool lint_errors = HasErrors(in->findings);
  if (counts) {
    auto rows = MakeScaleTable(in->plan, *counts);
    if (!rows.ok()) return bad_input(rows.status());
    (flags->json ? WriteScaleJson : WriteScaleText)(*rows, *in, out);
    return lint_errors ? kPlanDoesNotFit : kPlanFits;
  }
  auto plan = MakePlan(in->plan);
  if (!plan.ok()) return bad_input(plan.status());
  (flags->json ? WritePlanJson : WritePlanText)(*plan, *in, out);
  return plan->verdict == Verdict::kOk && !lint_errors ? kPlanFits
                                                       : kPlanDoesNotFit;
}

std::string PlanHelp(std::string_view program) {
  std::ostringstream o;
  o << "usage: " << program << " plan [flags]\n\n"
    << "Capacity planner: workers x DB_POOL_MAX + overhead against the usable\n"
    << "part of max_connections, the 80 % headroom rule, and the three ways "
       "out\n"
    << "(a smaller DB_POOL_MAX, a larger max_connections, PgBouncer).\n\n"
    << "Workers and pools:\n"
    << "  --workers=N                 worker processes (default 1)\n"
    << "  --pool-max=N                DB_POOL_MAX per worker (required, or "
       "from --env-file\n"
    << "                              or --application)\n"
    << "  --pool-min=N                DB_POOL_MIN per worker (default 0)\n"
    << "  --overhead=N                connections of the bot, interface, "
       "migrations...\n"
    << "                              (default 0; the guide suggests 10-20)\n"
    << "  --monitoring-agents=N       sessions of monitoring agents, each an "
       "ordinary slot\n"
    << "                              (default 1: pgconn itself; 0 allowed)\n"
    << "  --env-file=FILE             read DB_POOL_MIN, DB_POOL_MAX, "
       "DB_MAX_QUERIES,\n"
    << "                              DB_MAX_IDLE_TIME, DATABASE_URL... from a "
       "worker's\n"
    << "                              environment file and lint it; flags "
       "override it\n\n"
    << "The server:\n"
    << "  --max-connections=N         max_connections (default: read from the "
       "database of\n"
    << "                              --config.file, DATABASE_URL or "
       "DB_HOST..., "
       "else 100)\n"
    << "  --reserved=N                slots ordinary roles cannot use "
       "(default: "
       "read, else 3)\n"
    << "  --headroom=RATIO            plan under this share of usable "
       "(default 0.8, or the\n"
    << "                              configuration's near_limit_threshold)\n"
    << "  --memory-per-connection=SIZE  server memory per connection "
       "(default 10MB)\n"
    << "  --config.file=FILE          the agent's configuration: its target "
       "(--target NAME\n"
    << "                              when several), overhead and threshold;\n"
    << "                              its declared pools count as overhead\n"
    << "  --application=NAME          plan the target's declared pool NAME "
       "(replicas,\n"
    << "                              pool_min, pool_max; flags override); "
       "the other\n"
    << "                              declared pools count as overhead\n"
    << "  --offline                   never connect to a database\n\n"
    << "PgBouncer option:\n"
    << "  --pgbouncer-pool-size=N     default_pool_size (default 25, as in "
       "the guide)\n"
    << "  --pgbouncer-pool-max=N      DB_POOL_MAX behind PgBouncer (default: "
       "--pool-max)\n"
    << "  --pgbouncer-max-client-conn=N  max_client_conn (default 1000, as "
       "in the guide)\n\n"
    << "Right-sizing from the history (Prometheus, Thanos, Mimir, "
       "VictoriaMetrics):\n"
    << "  --from-prometheus=URL       read the agent's metrics through the "
       "query API and\n"
    << "                              recommend DB_POOL_MAX and DB_POOL_MIN "
       "per declared pool\n"
    << "  --window=DURATION           history to read (default 7d)\n"
    << "  --end=TIME                  its end: RFC 3339 or Unix seconds "
       "(default now)\n"
    << "  --target=NAME               repeatable (default every target with "
       "declared pools)\n"
    << "  --margin=RATIO              above the busy peak (default 0.25)\n"
    << "  --basic-auth-user=NAME, --basic-auth-password-file=FILE\n"
    << "  --bearer-token-file=FILE    Authorization: Bearer, from the file\n"
    << "  --tls-ca-file=FILE          trust this CA for https\n"
    << "  --query-timeout=DURATION    per connect, read and write (default "
       "30s)\n"
    << "  --headroom, --monitoring-agents, --overhead, --max-connections,\n"
    << "  --reserved, --memory-per-connection, --pgbouncer-pool-size and\n"
    << "  --pgbouncer-max-client-conn override what the history says\n\n"
    << "Output:\n"
    << "  --output=table|json|env     (default table; env: the DB_POOL_MIN "
       "and\n"
    << "                              DB_POOL_MAX lines, --from-prometheus "
       "only)\n"
    << "  --scale-table[=COUNTS]      the workers x DB_POOL_MAX table for "
       "worker counts\n"
    << "                              such as 1-10 or 1,5,10,20 (the "
       "default)\n\n"
    << "A total exactly at the headroom line fits. Exit codes: 0 the plan "
       "fits,\n"
    << "1 it does not (over_headroom, over_limit) or the env file has an "
       "error\n"
    << "finding, 2 bad input or the database could not be read.\n";
  return o.str();
}

}  // namespace pgconn
