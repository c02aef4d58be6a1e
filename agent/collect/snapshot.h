// What one poll of one target saw. Built by the collectors, then frozen and
// shared as std::shared_ptr<const Snapshot> between the poller and readers.
#ifndef PGCONN_AGENT_COLLECT_SNAPSHOT_H_
#define PGCONN_AGENT_COLLECT_SNAPSHOT_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgbouncer/pgbouncer.h"

namespace pgconn {

// Label values with a special meaning.
inline constexpr std::string_view kUnsetApplication = "(unset)";
inline constexpr std::string_view kOtherLabel = "(other)";
inline constexpr std::string_view kUnknownState = "unknown";

// pg_stat_activity.state values, in PostgreSQL's words. Every one of them is
// exported for every application present, with 0 where none is seen.
inline constexpr std::array<std::string_view, 6> kKnownStates = {
    "active",
    "idle",
    "idle in transaction",
    "idle in transaction (aborted)",
    "fastpath function call",
    "disabled",
};

// backend_type values other than "client backend" that PostgreSQL 15-17
// report; each is exported with 0 when absent so that series do not vanish.
inline constexpr std::array<std::string_view, 13> kKnownBackendTypes = {
    "archiver",
    "autovacuum launcher",
    "autovacuum worker",
    "background worker",
    "background writer",
    "checkpointer",
    "logical replication launcher",
    "logical replication worker",
    "parallel worker",
    "startup",
    "walreceiver",
    "walsender",
    "walwriter",
};

// Server settings that bound client connections.
struct ConnectionLimits {
  int64_t max_connections = 0;
  int64_t superuser_reserved_connections = 0;
  int64_t reserved_connections = 0;  // PostgreSQL 16+; 0 before
  bool has_reserved_connections = false;
};

// Client backends of one application in one state. `application` is already
// mapped: "(unset)" for an empty name, "(other)" for folded ones.
struct ActivityGroup {
  std::string application;
  std::string state;
  int64_t connections = 0;
  int64_t lock_waiting = 0;
  double oldest_state_seconds = 0;        // now() - min(state_change)
  double oldest_transaction_seconds = 0;  // now() - min(xact_start)
};

// Per application, across states.
struct ApplicationInfo {
  std::string application;
  int64_t client_addresses = 0;  // distinct client_addr (local socket = one)
};

// A database or role: its client connections and its limit, if it has one
// (datconnlimit / rolconnlimit; -1 in PostgreSQL means none).
struct LimitedGroup {
  std::string name;
  int64_t connections = 0;
  std::optional<int64_t> limit;
};

struct BackendTypeCount {
  std::string backend_type;
  int64_t count = 0;
};

struct PostgresData {
  int server_version_num = 0;
  ConnectionLimits limits;
  bool has_limits = false;

  std::vector<ActivityGroup> activity;  // client backends only
  std::vector<ApplicationInfo> applications;
  int64_t folded_applications = 0;  // distinct names folded into "(other)"

  std::vector<LimitedGroup> databases;
  std::vector<LimitedGroup> users;
  std::vector<BackendTypeCount> backends;  // everything but client backends
  bool has_activity = false;
  bool has_databases = false;
  bool has_users = false;
  bool has_backends = false;
};

// Outcome of one collector in one poll.
struct CollectorOutcome {
  std::string name;
  bool success = false;
  double duration_seconds = 0;
  std::string error;  // why it failed; empty on success
};

struct Snapshot {
  PostgresData postgres;
  PgBouncerData pgbouncer;  // PgBouncer targets only
  std::vector<CollectorOutcome> collectors;
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_COLLECT_SNAPSHOT_H_
