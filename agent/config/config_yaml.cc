// The YAML configuration file's top level: each key is a row of the
// settings table (settings.cc), which reads and checks its value.
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/settings.h"
#include "config/value_checks.h"
#include "config/yaml_reader.h"
#include "pgconn/config.h"

namespace pgconn {
namespace {

using detail::AgentSettings;
using detail::FindYamlKey;
using detail::Setting;
using detail::Where;
using detail::YamlReader;

Status ParseTopLevel(const YamlReader& r, std::string_view filename,
                     const YAML::Node& root, Config* cfg) {
  if (auto s = detail::CheckTree(filename, root, 0); !s.ok()) return s;
  if (auto s = r.RequireMap(root, "the configuration"); !s.ok()) return s;
  std::vector<std::string_view> keys;
  for (const Setting& s : AgentSettings()) {
    if (!s.yaml_key.empty()) keys.push_back(s.yaml_key);
  }
  if (auto s = r.CheckKeys(root, "the top level", keys); !s.ok()) return s;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (auto s = FindYamlKey(key)->from_yaml(r, kv.second, cfg); !s.ok()) {
      return s;
    }
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
