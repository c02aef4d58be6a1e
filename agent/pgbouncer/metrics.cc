// The pgconn_pgbouncer_* part of the exposition: what PgBouncer's admin
// console showed at the last successful poll, and the signals derived from
// it (docs/pgbouncer.md describes every family).
#include <algorithm>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "pgbouncer/pgbouncer.h"
#include "runtime/exposition.h"

namespace pgconn::detail {
namespace {

Labels With(const Labels& base, std::string key, std::string value) {
  Labels l = base;
  l.emplace_back(std::move(key), std::move(value));
  return l;
}

double D(int64_t v) { return static_cast<double>(v); }

void AppendPools(const Labels& t, const PgBouncerData& b,
                 const PgBouncerSignals& s, MetricsWriter* w) {
  std::vector<size_t> order(b.pools.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&b](size_t x, size_t y) {
    return std::tie(b.pools[x].database, b.pools[x].user) <
           std::tie(b.pools[y].database, b.pools[y].user);
  });
  for (size_t i : order) {
    const PgBouncerPool& p = b.pools[i];
    const PgBouncerPoolSignals& ps = s.pools[i];
    const Labels l = With(With(t, "database", p.database), "user", p.user);
    for (auto state : kPgBouncerClientStates) {
      auto it = p.clients.find(std::string(state));
      if (it == p.clients.end()) continue;  // not reported by this version
      w->Gauge("pgconn_pgbouncer_clients",
               "Client connections of a PgBouncer pool by state (SHOW POOLS "
               "cl_active, cl_waiting, cl_active_cancel_req, "
               "cl_waiting_cancel_req). waiting = sent a query and has no "
               "server connection yet.",
               With(l, "state", std::string(state)), D(it->second));
    }
    for (auto state : kPgBouncerServerStates) {
      auto it = p.servers.find(std::string(state));
      if (it == p.servers.end()) continue;
      w->Gauge("pgconn_pgbouncer_servers",
               "Server connections (to PostgreSQL) of a PgBouncer pool by "
               "state (SHOW POOLS sv_active, sv_active_cancel, "
               "sv_being_canceled, sv_idle, sv_used, sv_tested, sv_login).",
               With(l, "state", std::string(state)), D(it->second));
    }
    w->Gauge("pgconn_pgbouncer_max_wait_seconds",
             "How long the oldest waiting client of a PgBouncer pool has "
             "waited for a server connection (SHOW POOLS maxwait + "
             "maxwait_us); 0 when none waits.",
             l, p.max_wait_seconds);
    if (ps.server_utilization) {
      w->Gauge("pgconn_pgbouncer_server_pool_utilization_ratio",
               "Server connections of a PgBouncer pool that a new "
               "transaction cannot have (active, active_cancel, "
               "being_canceled) divided by the pool size of its database "
               "(default_pool_size when not overridden); above 1 while the "
               "reserve pool is in use.",
               l, *ps.server_utilization);
    }
  }
  w->Gauge("pgconn_pgbouncer_logical_connections",
           "Client connections of every PgBouncer pool (the admin console's "
           "excluded): the connections the workers hold.",
           t, D(s.logical_connections));
  w->Gauge("pgconn_pgbouncer_physical_connections",
           "Server connections of every PgBouncer pool: the connections "
           "PostgreSQL sees for the workers behind PgBouncer.",
           t, D(s.physical_connections));
  w->Gauge("pgconn_pgbouncer_waiting_clients",
           "Client connections waiting for a server connection, over every "
           "PgBouncer pool: pool exhaustion when it stays above 0.",
           t, D(s.waiting_clients));
}

void AppendDatabases(const Labels& t, const PgBouncerData& b,
                     MetricsWriter* w) {
  std::vector<const PgBouncerDatabase*> dbs;
  for (const auto& d : b.databases) dbs.push_back(&d);
  std::sort(dbs.begin(), dbs.end(),
            [](auto* x, auto* y) { return x->name < y->name; });
  for (const PgBouncerDatabase* d : dbs) {
    const Labels l = With(t, "database", d->name);
    w->Gauge("pgconn_pgbouncer_database_pool_size",
             "Server connections a PgBouncer pool of this database may open "
             "(SHOW DATABASES pool_size: the database's pool_size or "
             "default_pool_size).",
             l, D(d->pool_size));
    if (d->reserve_pool_size) {
      w->Gauge("pgconn_pgbouncer_database_reserve_pool_size",
               "Extra server connections a pool of this database may open "
               "when a client has waited reserve_pool_timeout (SHOW "
               "DATABASES reserve_pool_size, reserve_pool before 1.24).",
               l, D(*d->reserve_pool_size));
    }
    w->Gauge("pgconn_pgbouncer_database_server_connections",
             "Server connections PgBouncer has open for this database "
             "(SHOW DATABASES current_connections).",
             l, D(d->current_connections));
    if (d->max_connections && *d->max_connections > 0) {
      w->Gauge("pgconn_pgbouncer_database_server_connection_limit",
               "max_db_connections in effect for this database (SHOW "
               "DATABASES max_connections); only where one is set.",
               l, D(*d->max_connections));
    }
    if (d->current_client_connections) {
      w->Gauge("pgconn_pgbouncer_database_client_connections",
               "Client connections to this database (SHOW DATABASES "
               "current_client_connections, PgBouncer 1.24+).",
               l, D(*d->current_client_connections));
    }
    if (d->max_client_connections && *d->max_client_connections > 0) {
      w->Gauge("pgconn_pgbouncer_database_client_connection_limit",
               "max_db_client_connections of this database (SHOW DATABASES "
               "max_client_connections, PgBouncer 1.24+); only where one is "
               "set.",
               l, D(*d->max_client_connections));
    }
    if (d->paused) {
      w->Gauge("pgconn_pgbouncer_database_paused",
               "1 if the database is paused (PAUSE): its clients wait "
               "until RESUME.",
               l, *d->paused ? 1 : 0);
    }
    if (d->disabled) {
      w->Gauge("pgconn_pgbouncer_database_disabled",
               "1 if the database is disabled (DISABLE): new clients are "
               "refused.",
               l, *d->disabled ? 1 : 0);
    }
  }
}

// The SHOW STATS_TOTALS counters, in exposition order.
struct StatsCounter {
  std::string_view name;
  std::string_view help;
  std::optional<double> PgBouncerStats::*value;
};
constexpr StatsCounter kStatsCounters[] = {
    {"pgconn_pgbouncer_transactions_total",
     "Transactions PgBouncer pooled for this database since it started "
     "(SHOW STATS_TOTALS xact_count).",
     &PgBouncerStats::transactions},
    {"pgconn_pgbouncer_queries_total",
     "Queries PgBouncer pooled for this database since it started (SHOW "
     "STATS_TOTALS query_count).",
     &PgBouncerStats::queries},
    {"pgconn_pgbouncer_server_assignments_total",
     "Times a server connection was assigned to a client of this database "
     "(SHOW STATS_TOTALS server_assignment_count, PgBouncer 1.23+).",
     &PgBouncerStats::server_assignments},
    {"pgconn_pgbouncer_received_bytes_total",
     "Bytes PgBouncer received from clients of this database (SHOW "
     "STATS_TOTALS bytes_received).",
     &PgBouncerStats::received_bytes},
    {"pgconn_pgbouncer_sent_bytes_total",
     "Bytes PgBouncer sent to clients of this database (SHOW STATS_TOTALS "
     "bytes_sent).",
     &PgBouncerStats::sent_bytes},
    {"pgconn_pgbouncer_transaction_seconds_total",
     "Time server connections of this database spent in transactions, idle "
     "in transaction included (SHOW STATS_TOTALS xact_time, microseconds "
     "converted).",
     &PgBouncerStats::transaction_seconds},
    {"pgconn_pgbouncer_query_seconds_total",
     "Time server connections of this database spent executing queries "
     "(SHOW STATS_TOTALS query_time, microseconds converted).",
     &PgBouncerStats::query_seconds},
    {"pgconn_pgbouncer_client_wait_seconds_total",
     "Time clients of this database spent waiting for a server connection, "
     "counted when they get one (SHOW STATS_TOTALS wait_time, microseconds "
     "converted).",
     &PgBouncerStats::client_wait_seconds},
};

void AppendStats(const Labels& t, const PgBouncerData& b, MetricsWriter* w) {
  std::vector<const PgBouncerStats*> stats;
  for (const auto& st : b.stats) stats.push_back(&st);
  std::sort(stats.begin(), stats.end(),
            [](auto* x, auto* y) { return x->database < y->database; });
  for (const PgBouncerStats* st : stats) {
    for (const StatsCounter& c : kStatsCounters) {
      const std::optional<double>& v = st->*c.value;
      if (!v) continue;  // not reported by this version
      w->Counter(c.name, c.help, With(t, "database", st->database), *v);
    }
  }
}

// SHOW CONFIG settings exported when the running version has them.
struct OptionalSetting {
  std::string_view name;
  std::string_view help;
  std::optional<int64_t> PgBouncerConfig::*value;
};
constexpr OptionalSetting kOptionalSettings[] = {
    {"pgconn_pgbouncer_reserve_pool_size",
     "PgBouncer reserve_pool_size: extra server connections per pool for "
     "clients that waited reserve_pool_timeout (SHOW CONFIG).",
     &PgBouncerConfig::reserve_pool_size},
    {"pgconn_pgbouncer_max_db_connections",
     "PgBouncer max_db_connections: server connections per database across "
     "its pools; 0 means no limit (SHOW CONFIG).",
     &PgBouncerConfig::max_db_connections},
    {"pgconn_pgbouncer_max_user_connections",
     "PgBouncer max_user_connections: server connections per user across "
     "its pools; 0 means no limit (SHOW CONFIG).",
     &PgBouncerConfig::max_user_connections},
};

void AppendConfig(const Labels& t, const PgBouncerConfig& c, MetricsWriter* w) {
  w->Gauge("pgconn_pgbouncer_max_client_connections",
           "PgBouncer max_client_conn: client connections it accepts before "
           "refusing new ones (SHOW CONFIG).",
           t, D(c.max_client_conn));
  w->Gauge("pgconn_pgbouncer_default_pool_size",
           "PgBouncer default_pool_size: server connections per (database, "
           "user) pool unless overridden (SHOW CONFIG).",
           t, D(c.default_pool_size));
  for (const OptionalSetting& o : kOptionalSettings) {
    if (const std::optional<int64_t>& v = c.*o.value) {
      w->Gauge(o.name, o.help, t, D(*v));
    }
  }
  if (c.query_wait_timeout_seconds) {
    w->Gauge("pgconn_pgbouncer_query_wait_timeout_seconds",
             "PgBouncer query_wait_timeout: a client waiting this long for a "
             "server connection is disconnected; 0 means never (SHOW "
             "CONFIG).",
             t, *c.query_wait_timeout_seconds);
  }
  bool known = false;
  for (auto mode : kPgBouncerPoolModes) {
    known = known || c.pool_mode == mode;
    w->Gauge("pgconn_pgbouncer_pool_mode",
             "1 for PgBouncer's default pool_mode (session, transaction or "
             "statement), 0 for the others (SHOW CONFIG).",
             With(t, "mode", std::string(mode)), c.pool_mode == mode ? 1 : 0);
  }
  if (!known && !c.pool_mode.empty()) {
    w->Gauge("pgconn_pgbouncer_pool_mode",
             "1 for PgBouncer's default pool_mode (session, transaction or "
             "statement), 0 for the others (SHOW CONFIG).",
             With(t, "mode", c.pool_mode), 1);
  }
}

void AppendClientLimit(const Labels& t, const PgBouncerData& b,
                       const PgBouncerSignals& s, MetricsWriter* w) {
  if (b.has_lists) {
    for (const auto& [list, items] : b.lists) {
      w->Gauge("pgconn_pgbouncer_list_items",
               "PgBouncer's internal counts (SHOW LISTS): databases, users, "
               "pools, free/used/login clients, free/used servers, DNS and "
               "peers.",
               With(t, "list", list), D(items));
    }
  }
  if (s.used_clients) {
    w->Gauge("pgconn_pgbouncer_used_client_connections",
             "Client connections PgBouncer holds, logins and admin console "
             "included: the number max_client_conn limits (SHOW LISTS "
             "used_clients).",
             t, D(*s.used_clients));
  }
  if (s.client_utilization) {
    w->Gauge("pgconn_pgbouncer_client_utilization_ratio",
             "PgBouncer used client connections divided by max_client_conn; "
             "at 1 new clients are refused.",
             t, *s.client_utilization);
  }
}

}  // namespace

void AppendPgBouncerMetrics(const TargetReport& r, MetricsWriter* w) {
  const Labels t = {{"target", r.target}};
  w->Gauge("pgconn_pgbouncer_up",
           "1 if the last poll of the PgBouncer admin console succeeded, 0 "
           "otherwise (the value of pgconn_up, for PgBouncer targets only).",
           t, r.up ? 1 : 0);
  if (!r.snapshot) return;
  const PgBouncerData& b = r.snapshot->pgbouncer;
  const PgBouncerSignals s = DerivePgBouncerSignals(b);
  if (b.has_pools) AppendPools(t, b, s, w);
  if (b.has_databases) AppendDatabases(t, b, w);
  if (b.has_stats) AppendStats(t, b, w);
  if (b.has_config) AppendConfig(t, b.config, w);
  AppendClientLimit(t, b, s, w);
}

}  // namespace pgconn::detail
