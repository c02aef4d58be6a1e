// The agent's settings, each declared once: its flag, its PGCONN_*
// variable, its key in the YAML file, its type, default, check, help line
// and whether it is secret. The flag parser (agent_flags.cc), the
// environment layer (flag_env.cc), --help, the YAML reader's top level
// (config_yaml.cc) and the test that holds docs/configuration.md to it all
// read this one table (settings.cc); adding a setting is adding a row.
#ifndef PGCONN_AGENT_CONFIG_SETTINGS_H_
#define PGCONN_AGENT_CONFIG_SETTINGS_H_

#include <span>
#include <string>
#include <string_view>

#include "config/yaml_reader.h"
#include "pgconn/config.h"
#include "pgconn/status.h"

namespace pgconn::detail {

enum class SettingType {
  kSwitch,           // --name, --name=true, --name=false
  kValue,            // --name=VALUE
  kOptionalValue,    // --name or --name=VALUE
  kCollectorSwitch,  // --collector.NAME / --no-collector.NAME, any NAME
  kFileOnly,         // a key of the YAML file, no flag
};

struct Setting {
  std::string_view flag;  // without "--"; the YAML key for kFileOnly
  SettingType type = SettingType::kValue;
  std::string_view value_name;    // "FILE", "DURATION"; "" for switches
  std::string_view yaml_key;      // "" when the file has no such key
  bool env = false;               // also PGCONN_<FLAG> (EnvironmentName)
  bool secret = false;            // its value never goes into a message
  std::string_view default_text;  // as --help and the docs write it
  std::string_view help;          // lines separated by '\n'
  // Checks a value from the command line or the environment and stores it;
  // the message says what is wrong, the caller says where.
  Status (*from_text)(std::string_view value, Flags* flags) = nullptr;
  // Checks the YAML file's value (yaml_key) and stores it; the message
  // names the file, line and column.
  Status (*from_yaml)(const YamlReader& r, const YAML::Node& value,
                      Config* cfg) = nullptr;
};

// Every setting, in the order --help lists them.
std::span<const Setting> AgentSettings();

// The setting of flag `name` ("web.listen-address"), or nullptr.
const Setting* FindFlag(std::string_view name);
// The setting of top-level YAML key `key`, or nullptr.
const Setting* FindYamlKey(std::string_view key);

// "PGCONN_WEB_LISTEN_ADDRESS" for --web.listen-address; "" for a setting
// without a variable.
std::string EnvironmentName(const Setting& s);

// "--web.listen-address=ADDR", "--[no-]collector.NAME", "--health-check[=URL]".
std::string FlagSynopsis(const Setting& s);

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_CONFIG_SETTINGS_H_
