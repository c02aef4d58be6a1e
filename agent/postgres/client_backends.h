// Which pg_stat_activity rows are client backends, shared by every collector
// that counts them.
#ifndef PGCONN_AGENT_POSTGRES_CLIENT_BACKENDS_H_
#define PGCONN_AGENT_POSTGRES_CLIENT_BACKENDS_H_

#include <string>
#include <string_view>

namespace pgconn::detail {

// SQL condition on pg_stat_activity (aliased `alias`, or unaliased when
// empty) that is true for client backends, our own session included: it
// takes one of the ordinary slots like any other client.
//
// A role without pg_read_all_stats (pg_monitor) sees other roles' sessions
// with backend_type and state NULL. Such a row that has a database and a
// user is counted as a client backend in state "unknown": the rows that
// match and are not clients (parallel workers of another role's query) are
// rare and short-lived, while dropping the rows would hide every
// connection of every other role.
inline std::string ClientBackendCondition(std::string_view alias = "") {
  const std::string a = alias.empty() ? "" : std::string(alias) + ".";
  // Written so that it is never NULL: callers may negate it.
  return "(" + a + "backend_type IS NOT DISTINCT FROM 'client backend' OR (" +
         a + "backend_type IS NULL AND " + a + "datname IS NOT NULL AND " + a +
         "usename IS NOT NULL))";
}

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_POSTGRES_CLIENT_BACKENDS_H_
