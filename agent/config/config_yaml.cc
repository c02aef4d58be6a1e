// The YAML configuration file's top level: its settings and its `targets:`
// list (each target is read by target_yaml.cc).
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/target_yaml.h"
#include "config/value_checks.h"
#include "config/yaml_reader.h"
#include "pgconn/config.h"

namespace pgconn {
namespace {

using detail::IsPlain;
using detail::Where;
using detail::YamlReader;

Duration MaxDuration(std::string_view key) {
  if (key == "poll_interval") return kMaxPollInterval;
  if (key == "connect_timeout") return kMaxConnectTimeout;
  if (key == "query_timeout") return kMaxQueryTimeout;
  if (key == "peak_window") return kMaxPeakWindow;
  return kMaxBackoff;
}

Status ParseTargetList(const YamlReader& r, const YAML::Node& v,
                       std::vector<TargetConfig>* targets) {
  if (!v.IsSequence()) {
    return Status::InvalidArgument(r.where(v) + ": \"targets\" must be a list");
  }
  // An empty list would otherwise fall back to the environment, and
  // monitor something the file did not ask for.
  if (v.size() == 0) {
    return Status::InvalidArgument(
        r.where(v) +
        ": \"targets\" is empty; list at least one target "
        "or leave the key out to use the environment");
  }
  if (v.size() > kMaxTargets) {
    return Status::InvalidArgument(
        r.where(v) + ": " + std::to_string(v.size()) +
        " targets; the limit is " + std::to_string(kMaxTargets) + " per agent");
  }
  for (const auto& tn : v) {
    auto t = detail::ParseTarget(r, tn);
    if (!t.ok()) return t.status();
    targets->push_back(std::move(*t));
  }
  return Status::Ok();
}

// listen_address, log_level and log_format: a string checked by the same
// parser as its flag, repeated in the error only when it is plain.
Status ParseTextSetting(const YamlReader& r, const std::string& key,
                        const YAML::Node& v, Config* cfg) {
  auto s = r.String(v, key);
  if (!s.ok()) return s.status();
  if (key == "listen_address") {
    if (auto a = ParseListenAddress(*s); !a.ok()) {
      return Status::InvalidArgument(
          r.where(v) + ": \"listen_address\": " +
          (IsPlain(*s, ":[]") ? a.status().message()
                              : "not HOST:PORT, [IPv6]:PORT or :PORT"));
    }
    cfg->listen_address = *s;
  } else if (key == "log_level") {
    auto l = ParseLogLevel(*s);
    if (!l.ok()) {
      return Status::InvalidArgument(
          r.where(v) + ": " +
          (IsPlain(*s) ? l.status().message()
                       : "\"log_level\" is not one of debug, info, warn, "
                         "error"));
    }
    cfg->log_level = *l;
  } else {
    auto f = ParseLogFormat(*s);
    if (!f.ok()) {
      return Status::InvalidArgument(
          r.where(v) + ": " +
          (IsPlain(*s) ? f.status().message()
                       : "\"log_format\" is not one of logfmt, json"));
    }
    cfg->log_format = *f;
  }
  return Status::Ok();
}

// One top-level key (CheckKeys has refused unknown ones).
Status ParseTopLevelKey(const YamlReader& r, const std::string& key,
                        const YAML::Node& v, Config* cfg) {
  if (key == "targets") return ParseTargetList(r, v, &cfg->targets);
  if (key == "collectors") {
    return detail::ParseCollectorSwitches(r, v, &cfg->collectors);
  }
  if (key == "poll_interval" || key == "connect_timeout" ||
      key == "query_timeout" || key == "backoff_max" || key == "peak_window") {
    auto d = r.Dur(v, key, MaxDuration(key));
    if (!d.ok()) return d.status();
    (key == "poll_interval"     ? cfg->poll_interval
     : key == "connect_timeout" ? cfg->connect_timeout
     : key == "query_timeout"   ? cfg->query_timeout
     : key == "backoff_max"     ? cfg->backoff_max
                                : cfg->peak_window) = *d;
    return Status::Ok();
  }
  if (key == "near_limit_threshold") {
    auto x = r.Ratio(v, key);
    if (!x.ok()) return x.status();
    cfg->near_limit_threshold = *x;
    return Status::Ok();
  }
  if (key == "max_applications" || key == "max_users" ||
      key == "max_databases") {
    auto n = r.Int(v, key, 1, 10000);
    if (!n.ok()) return n.status();
    (key == "max_applications" ? cfg->max_applications
     : key == "max_users"      ? cfg->max_users
                               : cfg->max_databases) = *n;
    return Status::Ok();
  }
  return ParseTextSetting(r, key, v, cfg);
}

Status ParseTopLevel(const YamlReader& r, std::string_view filename,
                     const YAML::Node& root, Config* cfg) {
  if (auto s = detail::CheckTree(filename, root, 0); !s.ok()) return s;
  if (auto s = r.RequireMap(root, "the configuration"); !s.ok()) return s;
  if (auto s = r.CheckKeys(
          root, "the top level",
          {"targets", "poll_interval", "connect_timeout", "query_timeout",
           "backoff_max", "near_limit_threshold", "max_applications",
           "max_users", "max_databases", "listen_address", "log_level",
           "log_format", "collectors", "peak_window"});
      !s.ok()) {
    return s;
  }
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (auto s = ParseTopLevelKey(r, key, kv.second, cfg); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Result<Config> ParseConfigYaml(std::string_view text,
                               std::string_view filename) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(Where(filename, e.mark) +
                                   ": invalid YAML: " + e.msg);
  }
  Config cfg;
  if (root.IsNull()) return cfg;
  YamlReader r(filename);
  try {
    if (auto s = ParseTopLevel(r, filename, root, &cfg); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    // Defensive: every access above is type-checked, but yaml-cpp may still
    // throw on malformed documents.
    return Status::InvalidArgument(Where(filename, e.mark) + ": " + e.msg);
  }
  std::set<std::string> names;
  for (const auto& t : cfg.targets) {
    if (!names.insert(t.name).second) {
      return Status::InvalidArgument(t.origin + ": target name \"" + t.name +
                                     "\" is used twice");
    }
  }
  return cfg;
}

}  // namespace pgconn
