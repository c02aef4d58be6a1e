// Parsing `pgconn-agent plan`'s flags, and its help text.
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
#include "util/flags.h"
#include "util/numbers.h"

namespace pgconn {
namespace detail {
namespace {

constexpr std::string_view kDefaultScaleTable = "1,5,10,20";

// A flag value that the number parser refused. Only the form is checked
// here: ValidatePlanInput() checks each input's range and names its flag.
Status NotANumberFlag(const std::string& name, std::string_view value,
                      std::string_view expected) {
  return Status::InvalidArgument("flag --" + name + "=" + Excerpt(value) +
                                 ": not " + std::string(expected));
}

}  // namespace

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

// Long because it is one text: every flag of the planner, grouped as an
// operator looks for them.
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
