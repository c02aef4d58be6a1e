// `pgconn-agent plan`'s flags, declared once in a table (kPlanSettings)
// that the parser (CLI11, util/cli_args.h) and --help both read.
#include "plan/plan_flags.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

#include "collect/collector.h"
#include "config/dsn.h"
#include "config/guide_env.h"
#include "pgconn/plan_command.h"
#include "plan/env_file.h"
#include "plan/from_prometheus.h"
#include "plan/planner.h"
#include "plan/time_text.h"
#include "postgres/observations.h"
#include "postgres/registry.h"
#include "util/cli_args.h"
#include "util/numbers.h"

namespace pgconn {
namespace detail {
namespace {

constexpr std::string_view kDefaultScaleTable = "1,5,10,20";

// One flag of `plan`, declared once: the parser and --help read this.
struct PlanSetting {
  std::string_view flag;  // without "--"
  CliArity arity = CliArity::kValue;
  std::string_view value_name;  // "N", "FILE"; "" for a switch
  std::string_view default_text;
  std::string_view help;   // lines separated by '\n'
  std::string_view group;  // the heading --help lists it under
  // Whether a message repeats the value ("flag --x=VALUE: ..."); false for
  // a check whose own message quotes it.
  bool quote_value = true;
  // Checks and stores the value; the message says what is wrong, not where.
  // Only the form is checked here: ValidatePlanInput() checks each input's
  // range and names its flag.
  Status (*from_text)(std::string_view value, PlanFlags* f) = nullptr;
};

Status Int(std::string_view v, std::optional<int64_t>* out) {
  auto n = ParseInt64(v);
  if (!n.ok()) return Status::InvalidArgument("not a whole number");
  *out = *n;
  return Status::Ok();
}

Status Text(std::string_view v, std::optional<std::string>* out) {
  *out = std::string(v);
  return Status::Ok();
}

Result<Duration> PositiveDuration(std::string_view v) {
  auto d = ParseDuration(v);
  if (!d.ok() || *d <= Duration(0)) {
    return Status::InvalidArgument(
        "not a positive duration (such as 7d, 36h, 90s)");
  }
  return *d;
}

using A = CliArity;
using P = PlanFlags;
using S = std::string_view;
constexpr S kPools = "Workers and pools:";
constexpr S kServer = "The server:";
constexpr S kBouncer = "PgBouncer option:";
constexpr S kHistory =
    "Right-sizing from the history (Prometheus, Thanos, Mimir, "
    "VictoriaMetrics):";
constexpr S kOutput = "Output:";

// Long because it is the table: one row per flag, in --help's order.
const PlanSetting kPlanSettings[] = {
    {"workers", A::kValue, "N", "1", "worker processes", kPools, true,
     [](S v, P* f) { return Int(v, &f->workers); }},
    {"pool-max", A::kValue, "N", "",
     "DB_POOL_MAX per worker (required, or from --env-file\n"
     "or --application)",
     kPools, true, [](S v, P* f) { return Int(v, &f->pool_max); }},
    {"pool-min", A::kValue, "N", "0", "DB_POOL_MIN per worker", kPools, true,
     [](S v, P* f) { return Int(v, &f->pool_min); }},
    {"overhead", A::kValue, "N", "0",
     "connections of the bot, interface, migrations...\n"
     "(the guide suggests 10-20)",
     kPools, true, [](S v, P* f) { return Int(v, &f->overhead); }},
    {"monitoring-agents", A::kValue, "N", "1",
     "sessions of monitoring agents, each an ordinary slot\n"
     "(1: pgconn itself; 0 allowed)",
     kPools, true, [](S v, P* f) { return Int(v, &f->monitoring_agents); }},
    {"env-file", A::kValue, "FILE", "",
     "read DB_POOL_MIN, DB_POOL_MAX, DB_MAX_QUERIES,\n"
     "DB_MAX_IDLE_TIME, DATABASE_URL... from a worker's\n"
     "environment file and lint it; flags override it",
     kPools, true, [](S v, P* f) { return Text(v, &f->env_file); }},
    {"max-connections", A::kValue, "N", "read, else 100",
     "max_connections, read from the database of\n"
     "--config.file, DATABASE_URL or DB_HOST...",
     kServer, true, [](S v, P* f) { return Int(v, &f->max_connections); }},
    {"reserved", A::kValue, "N", "read, else 3",
     "slots ordinary roles cannot use", kServer, true,
     [](S v, P* f) { return Int(v, &f->reserved); }},
    {"headroom", A::kValue, "RATIO", "0.8",
     "plan under this share of usable (or the\n"
     "configuration's near_limit_threshold)",
     kServer, true,
     [](S v, P* f) {
       auto h = ParseDouble(v);
       if (!h.ok())
         return Status::InvalidArgument("not a number (such as 0.8)");
       return f->headroom = *h, Status();
     }},
    {"memory-per-connection", A::kValue, "SIZE", "10MB",
     "server memory per connection", kServer, false,
     [](S v, P* f) {
       auto bytes = ParseMemorySize(v);
       if (!bytes.ok()) return bytes.status();
       return f->memory_per_connection = *bytes, Status();
     }},
    {"config.file", A::kValue, "FILE", "",
     "the agent's configuration: its target (--target NAME\n"
     "when several), overhead and threshold;\n"
     "its declared pools count as overhead",
     kServer, true, [](S v, P* f) { return Text(v, &f->config_file); }},
    {"application", A::kValue, "NAME", "",
     "plan the target's declared pool NAME (replicas,\n"
     "pool_min, pool_max; flags override); the other\n"
     "declared pools count as overhead",
     kServer, true, [](S v, P* f) { return Text(v, &f->application); }},
    {"offline", A::kSwitch, "", "", "never connect to a database", kServer,
     true, [](S v, P* f) { return f->offline = v == "true", Status(); }},
    {"pgbouncer-pool-size", A::kValue, "N", "25",
     "default_pool_size, as in the guide", kBouncer, true,
     [](S v, P* f) { return Int(v, &f->pgbouncer_pool_size); }},
    {"pgbouncer-pool-max", A::kValue, "N", "--pool-max",
     "DB_POOL_MAX behind PgBouncer", kBouncer, true,
     [](S v, P* f) { return Int(v, &f->pgbouncer_pool_max); }},
    {"pgbouncer-max-client-conn", A::kValue, "N", "1000",
     "max_client_conn, as in the guide", kBouncer, true,
     [](S v, P* f) { return Int(v, &f->pgbouncer_max_client_conn); }},
    {"from-prometheus", A::kValue, "URL", "",
     "read the agent's metrics through the query API and\n"
     "recommend DB_POOL_MAX and DB_POOL_MIN per declared pool",
     kHistory, true, [](S v, P* f) { return Text(v, &f->from_prometheus); }},
    {"window", A::kValue, "DURATION", "7d", "history to read", kHistory, true,
     [](S v, P* f) {
       auto d = PositiveDuration(v);
       if (!d.ok()) return d.status();
       f->window_seconds = std::chrono::duration<double>(*d).count();
       return Status();
     }},
    {"end", A::kValue, "TIME", "now", "its end: RFC 3339 or Unix seconds",
     kHistory, false,
     [](S v, P* f) {
       auto t = ParseTimeText(v);
       if (!t.ok()) return t.status();
       return f->end_unix = *t, Status();
     }},
    {"target", A::kValue, "NAME", "every target with declared pools",
     "repeatable", kHistory, true,
     [](S v, P* f) {
       f->targets.emplace_back(v);
       return Text(v, &f->target);
     }},
    {"margin", A::kValue, "RATIO", "0.25", "above the busy peak", kHistory,
     true,
     [](S v, P* f) {
       auto m = ParseDoubleInRange(v, 0, 10);
       if (!m.ok()) {
         return Status::InvalidArgument(
             "not a ratio in [0, 10] (0.25 is 25 %)");
       }
       return f->margin = *m, Status();
     }},
    {"basic-auth-user", A::kValue, "NAME", "", "HTTP basic auth user", kHistory,
     true, [](S v, P* f) { return Text(v, &f->basic_auth_user); }},
    {"basic-auth-password-file", A::kValue, "FILE", "",
     "its password, from the file", kHistory, true,
     [](S v, P* f) { return Text(v, &f->basic_auth_password_file); }},
    {"bearer-token-file", A::kValue, "FILE", "",
     "Authorization: Bearer, from the file", kHistory, true,
     [](S v, P* f) { return Text(v, &f->bearer_token_file); }},
    {"tls-ca-file", A::kValue, "FILE", "", "trust this CA for https", kHistory,
     true, [](S v, P* f) { return Text(v, &f->tls_ca_file); }},
    {"query-timeout", A::kValue, "DURATION", "30s",
     "per connect, read and write", kHistory, true,
     [](S v, P* f) {
       auto d = PositiveDuration(v);
       if (!d.ok()) return d.status();
       return f->query_timeout = *d, Status();
     }},
    {"output", A::kValue, "table|json|env", "table",
     "env: the DB_POOL_MIN and DB_POOL_MAX lines,\n--from-prometheus only",
     kOutput, true,
     [](S v, P* f) {
       if (v != "table" && v != "json" && v != "env") {
         return Status::InvalidArgument("not one of table, json, env");
       }
       f->json = v == "json";
       f->env_output = v == "env";
       return Status();
     }},
    {"scale-table", A::kOptional, "COUNTS", kDefaultScaleTable,
     "the workers x DB_POOL_MAX table for worker counts\n"
     "such as 1-10 or 1,5,10,20",
     kOutput, true,
     [](S v, P* f) {
       // The counts are optional, so a following flag is not taken for them.
       return Text(v.empty() ? kDefaultScaleTable : v, &f->scale_table);
     }},
    {"help", A::kSwitch, "", "", "print this help", kOutput, true,
     [](S v, P* f) { return f->help = v == "true", Status(); }},
};

// A flag's value through its row; the message names the flag.
Status ApplyPlanFlag(const PlanSetting& s, const std::string& value,
                     PlanFlags* f) {
  // Appended piece by piece: GCC 12's Release build reports a false
  // -Wrestrict on "literal" + std::string (docs/contributing.md).
  std::string flag = "flag --";
  flag += s.flag;
  if (s.arity == CliArity::kValue && value.empty()) {
    return Status::InvalidArgument(flag + " needs a value");
  }
  Status st = s.from_text(value, f);
  if (st.ok()) return st;
  if (s.quote_value) {
    flag += '=';
    flag += Excerpt(value);
  }
  flag += ": ";
  flag += st.message();
  return Status::InvalidArgument(flag);
}

}  // namespace

Result<PlanFlags> ParsePlanFlags(const std::vector<std::string>& args) {
  std::vector<CliFlag> cli;
  for (const PlanSetting& s : kPlanSettings) cli.push_back({s.flag, s.arity});
  auto split = SplitCommandLine(args, cli);
  if (!split.ok()) return split.status();
  if (auto s = RefuseExtras(split->extras, "plan --help"); !s.ok()) return s;
  PlanFlags f;
  for (const PlanSetting& s : kPlanSettings) {
    const auto given = split->given.find(s.flag);
    if (given == split->given.end()) continue;
    for (const std::string& value : given->second) {
      if (auto st = ApplyPlanFlag(s, value, &f); !st.ok()) return st;
    }
  }
  return f;
}

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

}  // namespace detail

// The flags from the table, under their headings.
std::string PlanHelp(std::string_view program) {
  using detail::kPlanSettings;
  std::ostringstream o;
  o << "usage: " << program << " plan [flags]\n\n"
    << "Capacity planner: workers x DB_POOL_MAX + overhead against the usable\n"
    << "part of max_connections, the 80 % headroom rule, and the three ways "
       "out\n"
    << "(a smaller DB_POOL_MAX, a larger max_connections, PgBouncer).\n";
  std::string_view group;
  for (const auto& s : kPlanSettings) {
    if (s.group != group) {
      if (group == detail::kHistory) {
        o << "  --headroom, --monitoring-agents, --overhead, "
             "--max-connections,\n"
          << "  --reserved, --memory-per-connection, --pgbouncer-pool-size "
             "and\n"
          << "  --pgbouncer-max-client-conn override what the history says\n";
      }
      group = s.group;
      o << "\n" << group << "\n";
    }
    std::string synopsis = "--";  // piece by piece: see ApplyPlanFlag
    synopsis += s.flag;
    if (s.arity == CliArity::kOptional) {
      synopsis += "[=";
      synopsis += s.value_name;
      synopsis += ']';
    } else if (s.arity == CliArity::kValue) {
      synopsis += '=';
      synopsis += s.value_name;
    }
    WriteHelpEntry(o, synopsis, s.help, s.default_text);
  }
  o << "\nA total exactly at the headroom line fits. Exit codes: 0 the plan "
       "fits,\n"
    << "1 it does not (over_headroom, over_limit) or the env file has an "
       "error\n"
    << "finding, 2 bad input or the database could not be read.\n";
  return o.str();
}

}  // namespace pgconn
