// The table of the agent's settings (settings.h): one row per setting.
#include "config/settings.h"

#include <array>
#include <cctype>
#include <optional>

#include "config/target_yaml.h"
#include "config/value_checks.h"
#include "util/numbers.h"

namespace pgconn::detail {
namespace {

// A positive duration, of at most `max` when there is one.
Result<Duration> PositiveDuration(std::string_view v,
                                  std::optional<Duration> max) {
  auto d = ParseDuration(v);
  if (!d.ok()) return d.status();
  if (d->count() <= 0) return Status::InvalidArgument("must be positive");
  if (max && *d > *max) {
    return Status::InvalidArgument("is longer than its maximum, " +
                                   FormatLimit(*max));
  }
  return *d;
}

// The HTTP server's counts: 1 to 2^24.
Status HttpCount(std::string_view v, std::optional<int64_t>* out) {
  auto n = ParseInt64InRange(Trim(v), 1, 1 << 24);
  if (!n.ok()) return n.status();
  *out = *n;
  return Status::Ok();
}

Status HttpTimeout(std::string_view v, std::optional<Duration>* out) {
  auto d = PositiveDuration(v, std::nullopt);
  if (!d.ok()) return d.status();
  *out = *d;
  return Status::Ok();
}

// A string of the file checked by the parser of its flag; the value is
// repeated only when it is plain, else `instead` stands for the message.
// `label` starts either message.
template <typename T>
Status YamlText(const YamlReader& r, const YAML::Node& v, std::string_view key,
                Result<T> (*parse)(std::string_view), std::string_view extra,
                std::string_view label, std::string_view instead, T* out) {
  auto s = r.String(v, key);
  if (!s.ok()) return s.status();
  auto parsed = parse(*s);
  if (!parsed.ok()) {
    return Status::InvalidArgument(r.where(v) + ": " + std::string(label) +
                                   (IsPlain(*s, extra)
                                        ? parsed.status().message()
                                        : std::string(instead)));
  }
  *out = *parsed;
  return Status::Ok();
}

Result<std::string> ListenAddressText(std::string_view v) {
  auto a = ParseListenAddress(v);
  if (!a.ok()) return a.status();
  return std::string(v);
}

Status YamlDuration(const YamlReader& r, const YAML::Node& v,
                    std::string_view key, Duration max, Duration* out) {
  auto d = r.Dur(v, key, max);
  if (!d.ok()) return d.status();
  *out = *d;
  return Status::Ok();
}

Status YamlCount(const YamlReader& r, const YAML::Node& v, std::string_view key,
                 int* out) {
  auto n = r.Int(v, key, 1, 10000);
  if (!n.ok()) return n.status();
  *out = *n;
  return Status::Ok();
}

Status SetBool(std::string_view v, bool* out) {
  *out = v == "true";
  return Status::Ok();
}

using F = Flags;
using S = std::string_view;
using R = const YamlReader&;
using N = const YAML::Node&;
using T = SettingType;

// Long because it is the table: one row per setting, in --help's order.
const std::
    array
        kSettings =
            {
                Setting{"config.file", T::kValue, "FILE", "", true, false, "",
                        "YAML configuration (targets, limits)",
                        [](S v, F* f) {
                          return f->config_file = std::string(v), Status();
                        }},
                Setting{
                    "web.listen-address", T::kValue, "ADDR", "listen_address",
                    true, false, ":9188",
                    "where to serve /metrics\n(repeat the flag for several)",
                    [](S v, F* f) {
                      if (auto a = ParseListenAddress(v); !a.ok())
                        return a.status();
                      f->listen_address = std::string(v);
                      f->listen_addresses.emplace_back(v);
                      return Status();
                    },
                    [](R r, N v, Config* c) {
                      return YamlText<std::string>(
                          r, v, "listen_address", ListenAddressText, ":[]",
                          "\"listen_address\": ",
                          "not HOST:PORT, [IPv6]:PORT or :PORT",
                          &c->listen_address);
                    }},
                Setting{"web.config.file", T::kValue, "FILE", "", true, false,
                        "", "TLS and basic auth, exporter-toolkit's format",
                        [](S v, F* f) {
                          return f->web.config_file = std::string(v), Status();
                        }},
                Setting{"web.telemetry-path", T::kValue, "PATH", "", true,
                        false, "/metrics", "where the metrics are",
                        [](S v, F* f) {
                          if (v.empty() || v[0] != '/' || v == "/") {
                            return Status::InvalidArgument(
                                "must be a path like /metrics");
                          }
                          return f->web.telemetry_path = std::string(v),
                                 Status();
                        }},
                Setting{"web.max-connections", T::kValue, "N", "", true, false,
                        "512",
                        "open HTTP connections; the oldest idle goes\nfirst "
                        "when full",
                        [](S v, F* f) {
                          return HttpCount(v, &f->web.max_connections);
                        }},
                Setting{"web.max-header-bytes", T::kValue, "N", "", true, false,
                        "16384", "request line and headers",
                        [](S v, F* f) {
                          return HttpCount(v, &f->web.max_header_bytes);
                        }},
                Setting{"web.max-header-count", T::kValue, "N", "", true, false,
                        "100", "request headers",
                        [](S v, F* f) {
                          return HttpCount(v, &f->web.max_header_count);
                        }},
                Setting{"web.header-timeout", T::kValue, "DUR", "", true, false,
                        "5s", "to send a request's headers",
                        [](S v, F* f) {
                          return HttpTimeout(v, &f->web.header_timeout);
                        }},
                Setting{"web.idle-timeout", T::kValue, "DUR", "", true, false,
                        "60s", "keep-alive wait for the next request",
                        [](S v, F* f) {
                          return HttpTimeout(v, &f->web.idle_timeout);
                        }},
                Setting{"web.enable-lifecycle", T::kSwitch, "", "", false,
                        false, "", "serve POST /-/reload",
                        [](S v, F* f) {
                          return SetBool(v, &f->web.enable_lifecycle);
                        }},
                Setting{"poll.interval", T::kValue, "DURATION", "poll_interval",
                        true, false, "5s", "how often to poll each target",
                        [](S v, F* f) {
                          auto d = PositiveDuration(v, kMaxPollInterval);
                          if (!d.ok()) return d.status();
                          return f->poll_interval = *d, Status();
                        },
                        [](R r, N v, Config* c) {
                          return YamlDuration(r, v, "poll_interval",
                                              kMaxPollInterval,
                                              &c->poll_interval);
                        }},
                Setting{"log.level", T::kValue, "LEVEL", "log_level", true,
                        false, "info", "debug, info, warn, error",
                        [](S v, F* f) {
                          auto l = ParseLogLevel(v);
                          if (!l.ok()) return l.status();
                          return f->log_level = *l, Status();
                        },
                        [](R r, N v, Config* c) {
                          return YamlText<LogLevel>(
                              r, v, "log_level", ParseLogLevel, "", "",
                              "\"log_level\" is not one of debug, info, warn, "
                              "error",
                              &c->log_level);
                        }},
                Setting{"log.format", T::kValue, "FORMAT", "log_format", true,
                        false, "logfmt", "logfmt or json",
                        [](S v, F* f) {
                          auto l = ParseLogFormat(v);
                          if (!l.ok()) return l.status();
                          return f->log_format = *l, Status();
                        },
                        [](R r, N v, Config* c) {
                          return YamlText<LogFormat>(
                              r, v, "log_format", ParseLogFormat, "", "",
                              "\"log_format\" is not one of logfmt, json",
                              &c->log_format);
                        }},
                Setting{"once", T::kSwitch, "", "", false, false, "",
                        "poll every target once, print the metrics,\n"
                        "exit 0 if all were reached, 1 otherwise",
                        [](S v, F* f) { return SetBool(v, &f->once); }},
                Setting{"collector.NAME", T::kCollectorSwitch, "", "collectors",
                        false, false,
                        "", "turn a collector on or off (list below)", nullptr,
                        [](R r, N v, Config* c) {
                          return ParseCollectorSwitches(r, v, &c->collectors);
                        }},
                Setting{"health-check", T::kOptionalValue, "URL", "", false,
                        false, "http://127.0.0.1:PORT/healthz",
                        "GET the running agent's /healthz, exit 0 if 200",
                        [](S v, F* f) {
                          return f->health_check = std::string(v), Status();
                        }},
                Setting{"version", T::kSwitch, "", "", false, false, "",
                        "print the version and exit",
                        [](S v, F* f) { return SetBool(v, &f->version); }},
                Setting{"help", T::kSwitch, "", "", false, false, "",
                        "print this help and exit",
                        [](S v, F* f) { return SetBool(v, &f->help); }},
                // The file only.
                Setting{
                    "targets", T::kFileOnly, "", "targets", false,
                    false, "", "the targets; without it the environment's",
                    nullptr,
                    [](R r, N v,
                       Config* c) { return ParseTargetList(r, v, &c->targets); }},
                Setting{"connect_timeout", T::kFileOnly, "", "connect_timeout",
                        false, false, "5s", "connect deadline", nullptr,
                        [](R r, N v, Config* c) {
                          return YamlDuration(r, v, "connect_timeout",
                                              kMaxConnectTimeout,
                                              &c->connect_timeout);
                        }},
                Setting{"query_timeout", T::kFileOnly, "", "query_timeout",
                        false, false, "5s",
                        "statement_timeout and the client deadline", nullptr,
                        [](R r, N v, Config* c) {
                          return YamlDuration(r, v, "query_timeout",
                                              kMaxQueryTimeout,
                                              &c->query_timeout);
                        }},
                Setting{"backoff_max", T::kFileOnly, "", "backoff_max", false,
                        false, "30s", "cap of the reconnect backoff", nullptr,
                        [](R r, N v, Config* c) {
                          return YamlDuration(r, v, "backoff_max", kMaxBackoff,
                                              &c->backoff_max);
                        }},
                Setting{
                    "peak_window", T::kFileOnly, "", "peak_window", false,
                    false, "1m", "how far back the *_peak gauges look", nullptr,
                    [](R r, N v, Config* c) {
                      return YamlDuration(r, v, "peak_window", kMaxPeakWindow,
                                          &c->peak_window);
                    }},
                Setting{
                    "near_limit_threshold",
                    T::kFileOnly, "", "near_limit_threshold", false, false,
                    "0.8", "the headroom rule", nullptr,
                    [](R r, N v, Config* c) {
                      auto x = r.Ratio(v, "near_limit_threshold");
                      if (!x.ok()) return x.status();
                      return c->near_limit_threshold = *x, Status();
                    }},
                Setting{
                    "max_applications", T::kFileOnly, "", "max_applications",
                    false, false, "50", "label cap", nullptr,
                    [](R r, N v, Config* c) {
                      return YamlCount(r, v, "max_applications",
                                       &c->max_applications);
                    }},
                Setting{"max_users", T::kFileOnly, "", "max_users", false,
                        false, "100", "label cap", nullptr,
                        [](R r, N v, Config* c) {
                          return YamlCount(r, v, "max_users", &c->max_users);
                        }},
                Setting{"max_databases", T::kFileOnly, "", "max_databases",
                        false, false, "100", "label cap", nullptr,
                        [](R r, N v, Config* c) {
                          return YamlCount(r, v, "max_databases",
                                           &c->max_databases);
                        }},
};

}  // namespace

std::span<const Setting> AgentSettings() { return kSettings; }

const Setting* FindFlag(std::string_view name) {
  for (const Setting& s : kSettings) {
    if (s.type != SettingType::kFileOnly && s.flag == name) return &s;
  }
  return nullptr;
}

const Setting* FindYamlKey(std::string_view key) {
  for (const Setting& s : kSettings) {
    if (!s.yaml_key.empty() && s.yaml_key == key) return &s;
  }
  return nullptr;
}

std::string EnvironmentName(const Setting& s) {
  if (!s.env) return "";
  std::string out = "PGCONN_";
  for (const char c : s.flag) {
    out += (c == '.' || c == '-')
               ? '_'
               : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string FlagSynopsis(const Setting& s) {
  switch (s.type) {
    case SettingType::kCollectorSwitch:
      return "--[no-]" + std::string(s.flag);
    case SettingType::kOptionalValue:
      return "--" + std::string(s.flag) + "[=" + std::string(s.value_name) +
             "]";
    case SettingType::kValue:
      return "--" + std::string(s.flag) + "=" + std::string(s.value_name);
    default:
      return "--" + std::string(s.flag);
  }
}

}  // namespace pgconn::detail
