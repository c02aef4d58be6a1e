// The worker environment variables of the connection-pooling guide, listed
// once. The agent reads the connection group to find a target, the planner
// lints a worker's env file against all of them, and help texts name them.
#ifndef PGCONN_AGENT_CONFIG_GUIDE_ENV_H_
#define PGCONN_AGENT_CONFIG_GUIDE_ENV_H_

#include <string_view>

namespace pgconn {

// A whole connection URL. When it is set, a worker runs in legacy mode: it
// ignores every variable of both groups below.
inline constexpr std::string_view kGuideDatabaseUrl = "DATABASE_URL";

// The connection, one part per variable: what DATABASE_URL replaces.
inline constexpr std::string_view kGuideConnectionVariables[] = {
    "DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME"};

// Each worker's pool settings: the numbers the capacity plan is made of.
inline constexpr std::string_view kGuidePoolVariables[] = {
    "DB_POOL_MIN", "DB_POOL_MAX", "DB_MAX_QUERIES", "DB_MAX_IDLE_TIME"};

}  // namespace pgconn

#endif  // PGCONN_AGENT_CONFIG_GUIDE_ENV_H_
