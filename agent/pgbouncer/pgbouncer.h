// PgBouncer as pgconn sees it through the admin console: what the PgBouncer
// collectors parse out of SHOW POOLS, DATABASES, STATS_TOTALS, LISTS and
// CONFIG, and the warning signs derived from it by pure arithmetic.
//
// PgBouncer adds and renames columns between versions (docs/pgbouncer.md has
// the matrix). A value whose column the running version does not have is
// std::nullopt, "not reported", never a made-up 0.
#ifndef PGCONN_AGENT_PGBOUNCER_PGBOUNCER_H_
#define PGCONN_AGENT_PGBOUNCER_PGBOUNCER_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgconn {

// The admin console's pseudo-database. Its pool holds admin connections
// (pgconn's own among them) and never a server connection; it is left out
// of the pool, database and stats series, as the agent's own session is left
// out on PostgreSQL. Its clients still count in SHOW LISTS' used_clients,
// which is what max_client_conn limits.
inline constexpr std::string_view kPgBouncerAdminDatabase = "pgbouncer";

// Client states of SHOW POOLS (column cl_<state>), in column order.
inline constexpr std::array<std::string_view, 4> kPgBouncerClientStates = {
    "active", "waiting", "active_cancel_req", "waiting_cancel_req"};

// Server states of SHOW POOLS (column sv_<state>), in column order.
inline constexpr std::array<std::string_view, 7> kPgBouncerServerStates = {
    "active", "active_cancel", "being_canceled", "idle",
    "used",   "tested",        "login"};

// pool_mode values; exported as a state set.
inline constexpr std::array<std::string_view, 3> kPgBouncerPoolModes = {
    "session", "transaction", "statement"};

// The columns (for SHOW CONFIG and SHOW LISTS: the rows) that every
// supported version has and that the running PgBouncer did not send: the
// collector read the rest, and the signal stage exports each one as
// pgconn_pgbouncer_missing_columns{command,column}.
struct PgBouncerMissingColumns {
  std::vector<std::string> missing_columns;
};

// One row of SHOW POOLS: the pool of one (database, user) pair.
struct PgBouncerPool {
  std::string database;
  std::string user;
  // By state name (kPgBouncerClientStates / kPgBouncerServerStates); a state
  // the server's version does not report is absent.
  std::map<std::string, int64_t> clients;
  std::map<std::string, int64_t> servers;
  // Age of the oldest waiting client: maxwait plus maxwait_us (1.8+), so
  // that sub-second waits are not rounded down to 0.
  double max_wait_seconds = 0;
};

// One row of SHOW DATABASES: an entry of the [databases] section.
struct PgBouncerDatabase {
  std::string name;  // the entry's name, which clients connect to
  std::optional<int64_t> pool_size;
  std::optional<int64_t> reserve_pool_size;  // column reserve_pool before 1.24
  // max_db_connections in effect; PgBouncer shows 0 for "no limit".
  std::optional<int64_t> max_connections;
  std::optional<int64_t> current_connections;         // server connections
  std::optional<int64_t> max_client_connections;      // 1.24+; 0 = no limit
  std::optional<int64_t> current_client_connections;  // 1.24+
  std::optional<bool> paused;
  std::optional<bool> disabled;
};

// One row of SHOW STATS_TOTALS (or SHOW STATS): totals per database since
// PgBouncer started. Times are converted from microseconds to seconds.
struct PgBouncerStats {
  std::string database;
  // Absent where the running version lacks the column (see the comments).
  std::optional<double> transactions;        // 1.8+
  std::optional<double> queries;             // total_requests before 1.8
  std::optional<double> server_assignments;  // 1.23+
  std::optional<double> received_bytes;
  std::optional<double> sent_bytes;
  std::optional<double> transaction_seconds;  // 1.8+
  std::optional<double> query_seconds;
  std::optional<double> client_wait_seconds;  // 1.8+
};

// The SHOW CONFIG settings that bound connections.
struct PgBouncerConfig : PgBouncerMissingColumns {
  static constexpr std::string_view kName = "pgbouncer_config";
  std::optional<int64_t> max_client_conn;
  std::optional<int64_t> default_pool_size;
  std::optional<int64_t> reserve_pool_size;
  std::optional<int64_t> max_db_connections;    // 0 = no limit
  std::optional<int64_t> max_user_connections;  // 0 = no limit
  // Clients waiting longer than this are disconnected; 0 = never.
  std::optional<double> query_wait_timeout_seconds;
  std::string pool_mode;  // the default; databases and users may override it
};

// What each collector observes; kName is the collector's name.
struct PgBouncerPools : PgBouncerMissingColumns {
  static constexpr std::string_view kName = "pgbouncer_pools";
  std::vector<PgBouncerPool> pools;  // admin pool excluded
  // The guide's "logical vs physical" view, over every pool: client
  // connections the workers hold, and the server connections PostgreSQL
  // sees for them.
  int64_t logical_connections = 0;
  int64_t physical_connections = 0;
  // Pool exhaustion: clients that sent a query and wait for a server.
  int64_t waiting_clients = 0;
};

struct PgBouncerDatabases : PgBouncerMissingColumns {
  static constexpr std::string_view kName = "pgbouncer_databases";
  std::vector<PgBouncerDatabase> databases;  // admin database excluded
};

struct PgBouncerStatsTotals : PgBouncerMissingColumns {
  static constexpr std::string_view kName = "pgbouncer_stats";
  std::vector<PgBouncerStats> stats;  // admin database excluded
};

struct PgBouncerLists : PgBouncerMissingColumns {
  static constexpr std::string_view kName = "pgbouncer_lists";
  std::map<std::string, int64_t> lists;  // by list name
};

// Per pool: how full its server pool is.
struct PgBouncerPoolSignals {
  std::string database;
  std::string user;
  // Servers a new transaction cannot have: linked to a client (sv_active)
  // or busy with a cancel request (sv_active_cancel, sv_being_canceled).
  int64_t servers_in_use = 0;
  // pool_size of the pool's database (SHOW DATABASES), else the configured
  // default_pool_size; nullopt when neither is known.
  std::optional<int64_t> pool_size;
  // servers_in_use / pool_size; nullopt without a positive pool size. Above
  // 1 when the reserve pool is in use.
  std::optional<double> server_utilization;
};

// What combines the collectors: derived once per poll.
struct PgBouncerSignals {
  static constexpr std::string_view kName = "pgbouncer_signals";
  // Client connections against max_client_conn: SHOW LISTS used_clients
  // (admin connections and logins included; that is what PgBouncer counts).
  std::optional<int64_t> used_clients;
  std::optional<double> client_utilization;  // used_clients / max_client_conn
  std::vector<PgBouncerPoolSignals> pools;   // sorted by (database, user)
  // (command, column) of every missing expected column, over the
  // collectors that ran.
  std::vector<std::pair<std::string, std::string>> missing_columns;
};

// Fills the pool totals of `pools` from its rows.
void Summarize(PgBouncerPools* pools);

// Any of the inputs may be null (that collector failed or is off).
PgBouncerSignals DerivePgBouncerSignals(const PgBouncerPools* pools,
                                        const PgBouncerDatabases* databases,
                                        const PgBouncerLists* lists,
                                        const PgBouncerConfig* config);

}  // namespace pgconn

#endif  // PGCONN_AGENT_PGBOUNCER_PGBOUNCER_H_
