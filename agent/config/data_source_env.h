// postgres_exporter's connection variables, so that an exporter's deployment
// (its env file, its Kubernetes secret) runs the agent unchanged:
// DATA_SOURCE_NAME, or DATA_SOURCE_URI with DATA_SOURCE_USER and
// DATA_SOURCE_PASS, each of the last three also as a *_FILE path.
#ifndef PGCONN_AGENT_CONFIG_DATA_SOURCE_ENV_H_
#define PGCONN_AGENT_CONFIG_DATA_SOURCE_ENV_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/status.h"

namespace pgconn {

// Every variable TargetFromDataSource reads, for "ignored" notices when a
// variable of ours takes precedence.
inline constexpr std::string_view kDataSourceVariables[] = {
    "DATA_SOURCE_NAME",     "DATA_SOURCE_URI",       "DATA_SOURCE_URI_FILE",
    "DATA_SOURCE_USER",     "DATA_SOURCE_USER_FILE", "DATA_SOURCE_PASS",
    "DATA_SOURCE_PASS_FILE"};

// The target postgres_exporter's variables describe, as postgres_exporter
// reads them: DATA_SOURCE_NAME (a URL or key=value string) wins over
// DATA_SOURCE_URI, a *_FILE variable wins over its plain form. nullopt when
// neither DATA_SOURCE_NAME nor DATA_SOURCE_URI[_FILE] is set. The target's
// name is left empty (the caller names it like any connection string).
// `notices` gets one line saying which variables were used and which were
// ignored. Several comma-separated URLs in DATA_SOURCE_NAME (the exporter's
// multi-target form) are refused with a pointer to --config.file targets.
Result<std::optional<TargetConfig>> TargetFromDataSource(
    const EnvLookup& env, std::vector<std::string>* notices);

// The names of the variables in `names` that are set (even to ""), joined
// with ",".
std::string SetVariables(const EnvLookup& env,
                         std::initializer_list<std::string_view> names);

}  // namespace pgconn

#endif  // PGCONN_AGENT_CONFIG_DATA_SOURCE_ENV_H_
