// One entry of the YAML file's `targets:` list, with its pools, its
// collector switches and its server log.
#ifndef PGCONN_AGENT_CONFIG_TARGET_YAML_H_
#define PGCONN_AGENT_CONFIG_TARGET_YAML_H_

#include <yaml-cpp/yaml.h>

#include <vector>

#include "config/yaml_reader.h"
#include "pgconn/config.h"
#include "pgconn/status.h"

namespace pgconn::detail {

// Reads and checks one target mapping: known keys only, each value typed
// and bounded, then the rules across keys (a name; url or its parts, not
// both; password or password_file; a PgBouncer target reads the admin
// console and declares no pools).
Result<TargetConfig> ParseTarget(const YamlReader& r, const YAML::Node& node);

// The top-level `targets:`: a list of 1 to kMaxTargets targets.
Status ParseTargetList(const YamlReader& r, const YAML::Node& v,
                       std::vector<TargetConfig>* targets);

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_CONFIG_TARGET_YAML_H_
