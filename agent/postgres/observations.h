// What the PostgreSQL collectors observe, one struct per collector (its
// kName is the collector's name), and the label values they share. Signal
// stages (signals.h here, agent/pools) read them from the snapshot.
#ifndef PGCONN_AGENT_POSTGRES_OBSERVATIONS_H_
#define PGCONN_AGENT_POSTGRES_OBSERVATIONS_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// The one "idle in transaction" rule: both states hold a transaction (and
// its locks and snapshot) open while the client does nothing.
inline bool IsIdleInTransaction(std::string_view state) {
  return state == "idle in transaction" ||
         state == "idle in transaction (aborted)";
}

// backend_type values other than "client backend" that PostgreSQL 14-18
// report; each is exported with 0 when absent so that series do not vanish.
// "slotsync worker" and "walsummarizer" arrived in 17, "io worker" in 18
// (io_method = worker, the default: io_workers of them, 3 by default).
// A role without pg_read_all_stats sees every other process's type as
// NULL: they count as "unknown".
inline constexpr std::array<std::string_view, 16> kKnownBackendTypes = {
    "archiver",
    "autovacuum launcher",
    "autovacuum worker",
    "background worker",
    "background writer",
    "checkpointer",
    "io worker",
    "logical replication launcher",
    "logical replication worker",
    "parallel worker",
    "slotsync worker",
    "startup",
    "walreceiver",
    "walsender",
    "walsummarizer",
    "walwriter",
};

// Collector "settings": the server settings that bound client connections.
struct ConnectionLimits {
  static constexpr std::string_view kName = "settings";
  int server_version_num = 0;
  int64_t max_connections = 0;
  int64_t superuser_reserved_connections = 0;
  int64_t reserved_connections = 0;  // PostgreSQL 16+; 0 before
  bool has_reserved_connections = false;
};

// Slots ordinary roles cannot use, and the ones they can (floored at 0).
inline int64_t ReservedConnections(const ConnectionLimits& l) {
  return l.superuser_reserved_connections + l.reserved_connections;
}
inline int64_t UsableConnections(const ConnectionLimits& l) {
  const int64_t usable = l.max_connections - ReservedConnections(l);
  return usable > 0 ? usable : 0;
}

// Client backends of one application in one state. `application` is already
// mapped: "(unset)" for an empty name, "(other)" for folded ones.
struct ActivityGroup {
  std::string application;
  std::string state;
  int64_t connections = 0;
  int64_t lock_waiting = 0;
  int64_t own_connections = 0;            // of them, pgconn's own session
  double oldest_state_seconds = 0;        // now() - min(state_change)
  double oldest_transaction_seconds = 0;  // now() - min(xact_start)
};

// A client backend that may have appeared since the previous scan
// (activity_scan.cc), by identity: "pid:backend_start in µs". Its
// application as a label ("(unset)" for none), never folded.
struct RecentBackend {
  std::string application;
  std::string identity;
};

// Per application, across states.
struct ApplicationInfo {
  std::string application;
  int64_t client_addresses = 0;  // distinct client_addr (local socket = one)
};

// Per application, across its states.
struct ApplicationSummary {
  int64_t connections = 0;
  int64_t own_connections = 0;  // pgconn's own session
  double oldest_idle_seconds = 0;
  double oldest_idle_in_transaction_seconds = 0;  // both idle-in-tx states
  double oldest_transaction_seconds = 0;
};

// The groups added up, once per poll (Summarize()).
struct ActivitySummary {
  int64_t used = 0;  // client backends
  int64_t idle = 0;
  double idle_ratio = 0;  // idle / used; 0 when nothing is used
  int64_t idle_in_transaction = 0;
  int64_t lock_waiting = 0;
  std::map<std::string, ApplicationSummary> applications;
};

// Collector "activity": client backends, pgconn's own session included (it
// takes an ordinary slot; own_connections marks it).
struct Activity {
  static constexpr std::string_view kName = "activity";
  std::vector<ActivityGroup> groups;
  std::vector<ApplicationInfo> applications;
  int64_t folded_applications = 0;  // distinct names folded into "(other)"
  // The server's now() of this scan in µs since the Unix epoch
  // (CollectorContext::previous_scan_time_us of the next one); none if the
  // result had none.
  std::optional<int64_t> scan_time_us;
  // The client backends that may be new since the previous scan (the
  // opened stage tells which are). Mutable: that stage empties it while
  // the snapshot is built, before anyone shares it, so that a snapshot
  // kept until the next poll does not keep a string per backend started
  // in the last two minutes (most of a fleet's memory right after start,
  // or on a server with much churn).
  mutable std::vector<RecentBackend> recent;
  ActivitySummary summary;  // of `groups`
};

// Fills `activity->summary` from its groups.
void Summarize(Activity* activity);

// A database or role: its client connections and its limit, if it has one
// (datconnlimit / rolconnlimit; -1 in PostgreSQL means none).
struct LimitedGroup {
  std::string name;
  int64_t connections = 0;
  std::optional<int64_t> limit;
};

// Collector "databases".
struct DatabaseConnections {
  static constexpr std::string_view kName = "databases";
  std::vector<LimitedGroup> groups;
};

// Collector "users".
struct UserConnections {
  static constexpr std::string_view kName = "users";
  std::vector<LimitedGroup> groups;
};

struct BackendTypeCount {
  std::string backend_type;
  int64_t count = 0;
};

// Collector "backends": everything but client backends.
struct OtherBackends {
  static constexpr std::string_view kName = "backends";
  std::vector<BackendTypeCount> backends;
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_POSTGRES_OBSERVATIONS_H_
