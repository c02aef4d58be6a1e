// The agent's command line: --config.file, --web.*, --poll.interval,
// --log.*, --[no-]collector.NAME, --once, --version, --help, and the help
// text that lists them. (PGCONN_* variables become flags in flag_env.cc.)
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/guide_env.h"
#include "config/value_checks.h"
#include "pgconn/config.h"
#include "util/flags.h"
#include "util/numbers.h"

namespace pgconn {
namespace {

using detail::FormatLimit;
using detail::Trim;

// A switch flag's value: none (true), or =true / =false.
Result<bool> SwitchValue(const FlagReader& r) {
  const auto& v = r.InlineValue();
  if (!v) return true;
  if (*v != "true" && *v != "false") {
    return Status::InvalidArgument("flag --" + r.name() +
                                   ": takes no value, or =true or =false");
  }
  return *v == "true";
}

// The --web.* flags other than --web.listen-address; false if `name` is
// not one of them.
Result<bool> ParseWebFlag(const std::string& name, FlagReader& r,
                          WebFlags& web) {
  if (name == "web.enable-lifecycle") {
    if (const auto& v = r.InlineValue(); v && *v != "true" && *v != "false") {
      return Status::InvalidArgument("flag --" + name +
                                     ": takes no value, or =true or =false");
    }
    web.enable_lifecycle = !r.InlineValue() || *r.InlineValue() == "true";
    return true;
  }
  static const std::set<std::string> kValued = {
      "web.config.file",      "web.telemetry-path",   "web.max-connections",
      "web.max-header-bytes", "web.max-header-count", "web.header-timeout",
      "web.idle-timeout"};
  if (kValued.count(name) == 0) return false;
  auto v = r.Value();
  if (!v.ok()) return v.status();
  const std::string where = "flag --" + name + "=" + *v + ": ";
  if (name == "web.config.file") {
    web.config_file = *v;
  } else if (name == "web.telemetry-path") {
    if (v->empty() || (*v)[0] != '/' || *v == "/") {
      return Status::InvalidArgument(where + "must be a path like /metrics");
    }
    web.telemetry_path = *v;
  } else if (name == "web.header-timeout" || name == "web.idle-timeout") {
    auto d = ParseDuration(*v);
    if (!d.ok()) return Status::InvalidArgument(where + d.status().message());
    if (d->count() <= 0)
      return Status::InvalidArgument(where + "must be positive");
    (name == "web.header-timeout" ? web.header_timeout : web.idle_timeout) = *d;
  } else {
    auto n = ParseInt64InRange(Trim(*v), 1, 1 << 24);
    if (!n.ok()) return Status::InvalidArgument(where + n.status().message());
    (name == "web.max-connections"    ? web.max_connections
     : name == "web.max-header-bytes" ? web.max_header_bytes
                                      : web.max_header_count) = *n;
  }
  return true;
}

// --collector.NAME / --no-collector.NAME, as node_exporter spells them;
// the names are checked against the registry at start-up. False if `name`
// is neither.
Result<bool> ParseCollectorFlag(const std::string& name, const FlagReader& r,
                                CollectorSwitches* collectors) {
  for (const bool on : {true, false}) {
    const std::string_view prefix = on ? "collector." : "no-collector.";
    if (name.size() > prefix.size() &&
        std::string_view(name).substr(0, prefix.size()) == prefix) {
      auto given = SwitchValue(r);
      if (!given.ok()) return given.status();
      const bool value = *given == on;
      (*collectors)[name.substr(prefix.size())] =
          CollectorSwitch{value, "flag --" + name};
      return true;
    }
  }
  return false;
}

// --config.file, --web.listen-address, --poll.interval, --log.level,
// --log.format.
Status ParseValuedFlag(const std::string& name, FlagReader& r, Flags* f) {
  if (name != "config.file" && name != "web.listen-address" &&
      name != "poll.interval" && name != "log.level" && name != "log.format") {
    return r.Unknown();
  }
  auto v = r.Value();
  if (!v.ok()) return v.status();
  const std::string where = "flag --" + name + "=" + *v + ": ";
  if (name == "config.file") {
    f->config_file = *v;
  } else if (name == "web.listen-address") {
    if (auto la = ParseListenAddress(*v); !la.ok()) {
      return Status::InvalidArgument(where + la.status().message());
    }
    f->listen_address = *v;
    f->listen_addresses.push_back(*v);
  } else if (name == "poll.interval") {
    auto d = ParseDuration(*v);
    if (!d.ok()) return Status::InvalidArgument(where + d.status().message());
    if (d->count() <= 0) {
      return Status::InvalidArgument(where + "must be positive");
    }
    if (*d > kMaxPollInterval) {
      return Status::InvalidArgument(where + "is longer than its maximum, " +
                                     FormatLimit(kMaxPollInterval));
    }
    f->poll_interval = *d;
  } else if (name == "log.level") {
    auto l = ParseLogLevel(*v);
    if (!l.ok()) return Status::InvalidArgument(where + l.status().message());
    f->log_level = *l;
  } else {
    auto l = ParseLogFormat(*v);
    if (!l.ok()) return Status::InvalidArgument(where + l.status().message());
    f->log_format = *l;
  }
  return Status::Ok();
}

}  // namespace

Result<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags f;
  FlagReader r(args, "--help");
  while (true) {
    auto more = r.Next();
    if (!more.ok()) return more.status();
    if (!*more) break;
    const std::string& name = r.name();
    if (name == "help" || name == "version" || name == "once") {
      // --once=false is not --once.
      auto on = SwitchValue(r);
      if (!on.ok()) return on.status();
      (name == "help" ? f.help : name == "version" ? f.version : f.once) = *on;
      continue;
    }
    auto collector = ParseCollectorFlag(name, r, &f.collectors);
    if (!collector.ok()) return collector.status();
    if (*collector) continue;
    auto web = ParseWebFlag(name, r, f.web);
    if (!web.ok()) return web.status();
    if (*web) continue;
    if (auto s = ParseValuedFlag(name, r, &f); !s.ok()) return s;
  }
  return f;
}

// Long because it is one text: the flags in the order an operator looks for
// them, then the environment.
std::string FlagsHelp(std::string_view program) {
  std::string connection_variables;
  for (std::string_view v : kGuideConnectionVariables) {
    if (!connection_variables.empty()) connection_variables += ", ";
    connection_variables += v;
  }
  std::ostringstream o;
  o << "usage: " << program << " [flags]\n"
    << "       " << program << " plan [flags]   (capacity planner; " << program
    << " plan --help)\n\n"
    << "PostgreSQL connection monitoring agent and Prometheus exporter.\n\n"
    << "Flags:\n"
    << "  --config.file=FILE          YAML configuration (targets, limits)\n"
    << "  --web.listen-address=ADDR   where to serve /metrics (default "
       ":9188)\n"
    << "                              (repeat the flag for several)\n"
    << "  --web.config.file=FILE      TLS and basic auth, exporter-toolkit's "
       "format\n"
    << "  --web.telemetry-path=PATH   where the metrics are (default "
       "/metrics)\n"
    << "  --web.max-connections=N     open HTTP connections; the oldest idle "
       "goes\n"
    << "                              first when full (default 512)\n"
    << "  --web.max-header-bytes=N    request line and headers (default "
       "16384)\n"
    << "  --web.max-header-count=N    request headers (default 100)\n"
    << "  --web.header-timeout=DUR    to send a request's headers (default "
       "5s)\n"
    << "  --web.idle-timeout=DUR      keep-alive wait for the next request "
       "(default 60s)\n"
    << "  --web.enable-lifecycle      serve POST /-/reload\n"
    << "  --poll.interval=DURATION    how often to poll each target "
       "(default 5s)\n"
    << "  --log.level=LEVEL           debug, info, warn, error (default "
       "info)\n"
    << "  --log.format=FORMAT         logfmt or json (default logfmt)\n"
    << "  --once                      poll every target once, print the "
       "metrics,\n"
    << "                              exit 0 if all were reached, 1 "
       "otherwise\n"
    << "  --[no-]collector.NAME       turn a collector on or off (list "
       "below)\n"
    << "  --health-check[=URL]        GET the running agent's /healthz "
       "(default\n"
    << "                              http://127.0.0.1:PORT/healthz), exit 0 "
       "if 200\n"
    << "  --version                   print the version and exit\n"
    << "  --help                      print this help and exit\n\n"
    << "Without a configured target the environment defines one: "
    << kGuideDatabaseUrl << ",\n"
    << "or " << connection_variables << "; libpq's PG* variables\n"
    << "and ~/.pgpass work as usual. Exit codes: 0 ok, 1 runtime failure, "
       "2 bad\n"
    << "configuration.\n"
    << "Every flag that takes a value can be set as PGCONN_<FLAG> (e.g.\n"
    << "PGCONN_WEB_LISTEN_ADDRESS); the command line wins. "
       "postgres_exporter's\n"
    << "DATA_SOURCE_NAME, DATA_SOURCE_URI/_USER/_PASS[_FILE] and "
       "DB_PASSWORD_FILE\n"
    << "are read too (docs/migrating-from-postgres_exporter.md).\n";
  return o.str();
}

}  // namespace pgconn
