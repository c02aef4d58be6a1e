// Canned answers of a PostgreSQL server to the batched collector query.
#ifndef PGCONN_TESTS_FAKES_CANNED_POSTGRES_H_
#define PGCONN_TESTS_FAKES_CANNED_POSTGRES_H_

#include <string>
#include <vector>

#include "pgconn/result_set.h"

namespace pgconn {

// What the five PostgreSQL collectors would receive, interleaved with the
// server clock statements, for a server with `max_connections` and the given
// idle and active connections of application "worker".
inline std::vector<ResultSet> CannedPostgresAnswer(int max_connections,
                                                   int idle, int active) {
  auto clock = [](double t) {
    return ResultSet({"server_clock"}, {{std::to_string(t)}});
  };
  auto s = [](auto v) { return std::optional<std::string>(std::to_string(v)); };
  auto t = [](const char* v) { return std::optional<std::string>(v); };
  ResultSet settings({"server_version_num", "max_connections",
                      "superuser_reserved_connections", "reserved_connections"},
                     {{t("150020"), s(max_connections), t("3"), std::nullopt}});
  ResultSet activity(
      {"application", "state", "connections", "lock_waiting",
       "oldest_state_seconds", "oldest_transaction_seconds", "client_addresses",
       "per_application", "folded_applications"},
      {});
  if (idle > 0) {
    activity.AddRow({t("worker"), t("idle"), s(idle), t("0"), t("10"), t("0"),
                     t("1"), t("0"), t("0")});
  }
  if (active > 0) {
    activity.AddRow({t("worker"), t("active"), s(active), t("0"), t("1"),
                     t("1"), t("1"), t("0"), t("0")});
  }
  if (idle + active > 0) {
    activity.AddRow({t("worker"), std::nullopt, s(idle + active), t("0"),
                     t("10"), t("1"), t("1"), t("1"), t("0")});
  }
  ResultSet databases({"name", "connection_limit", "connections"},
                      {{t("postgres"), t("-1"), s(idle + active)}});
  ResultSet users({"name", "connection_limit", "connections"},
                  {{t("app"), t("-1"), s(idle + active)}});
  ResultSet backends({"backend_type", "backends"},
                     {{t("checkpointer"), t("1")}});
  return {clock(1),     settings,  clock(1.001), activity,
          clock(1.002), databases, clock(1.003), users,
          clock(1.004), backends,  clock(1.005)};
}

}  // namespace pgconn

#endif  // PGCONN_TESTS_FAKES_CANNED_POSTGRES_H_
