// SHOW DATABASES: per [databases] entry, its pool size and reserve, its
// server connections against max_db_connections, and (1.24+) its client
// connections against max_db_client_connections.
#include <array>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "pgbouncer/columns.h"
#include "pgbouncer/pgbouncer.h"

namespace pgconn {
namespace {

class PgBouncerDatabasesCollector final
    : public CollectorOf<PgBouncerDatabases> {
 public:
  std::string Statement(const CollectorContext&) const override {
    return "SHOW DATABASES";
  }

 protected:
  Result<PgBouncerDatabases> ParseRows(const ResultSet& rs) const override {
    detail::PgBouncerColumns c(name(), rs);
    const int c_name = c.Require({"name"});
    const int c_pool = c.Expect({"pool_size"});
    const int c_current = c.Expect({"current_connections"});
    // Renamed in 1.24; the metric stays the same.
    const int c_reserve = c.Expect({"reserve_pool_size", "reserve_pool"});
    const int c_max = c.Expect({"max_connections"});
    const int c_max_clients = c.Find({"max_client_connections"});
    const int c_clients = c.Find({"current_client_connections"});
    const int c_paused = c.Expect({"paused"});
    const int c_disabled = c.Expect({"disabled"});
    if (!c.status().ok()) return c.status();

    std::vector<PgBouncerDatabase> dbs;
    for (const auto& row : rs.rows()) {
      PgBouncerDatabase d;
      d.name = CellText(row, c_name);
      if (d.name == kPgBouncerAdminDatabase) continue;
      auto values = c.Ints(
          row, std::array{c_pool, c_current, c_reserve, c_max, c_max_clients,
                          c_clients, c_paused, c_disabled});
      if (!values.ok()) return values.status();
      const auto& [pool, current, reserve, max, max_clients, clients, paused,
                   disabled] = *values;
      d.pool_size = pool;
      d.current_connections = current;
      d.reserve_pool_size = reserve;
      d.max_connections = max;
      d.max_client_connections = max_clients;
      d.current_client_connections = clients;
      if (paused) d.paused = *paused != 0;
      if (disabled) d.disabled = *disabled != 0;
      dbs.push_back(std::move(d));
    }
    PgBouncerDatabases out;
    out.databases = std::move(dbs);
    out.missing_columns = c.missing();
    return out;
  }

  void EmitMetrics(const PgBouncerDatabases& b, const Labels& t,
                   MetricsWriter* w) const override {
    std::vector<const PgBouncerDatabase*> dbs;
    for (const auto& d : b.databases) dbs.push_back(&d);
    std::sort(dbs.begin(), dbs.end(),
              [](auto* x, auto* y) { return x->name < y->name; });
    for (const PgBouncerDatabase* d : dbs) {
      const Labels l = WithLabel(t, "database", d->name);
      if (d->pool_size) {
        w->Gauge("pgconn_pgbouncer_database_pool_size",
                 "Server connections a PgBouncer pool of this database may "
                 "open (SHOW DATABASES pool_size: the database's pool_size "
                 "or default_pool_size).",
                 l, static_cast<double>(*d->pool_size));
      }
      if (d->reserve_pool_size) {
        w->Gauge("pgconn_pgbouncer_database_reserve_pool_size",
                 "Extra server connections a pool of this database may open "
                 "when a client has waited reserve_pool_timeout (SHOW "
                 "DATABASES reserve_pool_size, reserve_pool before 1.24).",
                 l, static_cast<double>(*d->reserve_pool_size));
      }
      if (d->current_connections) {
        w->Gauge("pgconn_pgbouncer_database_server_connections",
                 "Server connections PgBouncer has open for this database "
                 "(SHOW DATABASES current_connections).",
                 l, static_cast<double>(*d->current_connections));
      }
      if (d->max_connections && *d->max_connections > 0) {
        w->Gauge("pgconn_pgbouncer_database_server_connection_limit",
                 "max_db_connections in effect for this database (SHOW "
                 "DATABASES max_connections); only where one is set.",
                 l, static_cast<double>(*d->max_connections));
      }
      if (d->current_client_connections) {
        w->Gauge("pgconn_pgbouncer_database_client_connections",
                 "Client connections to this database (SHOW DATABASES "
                 "current_client_connections, PgBouncer 1.24+).",
                 l, static_cast<double>(*d->current_client_connections));
      }
      if (d->max_client_connections && *d->max_client_connections > 0) {
        w->Gauge("pgconn_pgbouncer_database_client_connection_limit",
                 "max_db_client_connections of this database (SHOW DATABASES "
                 "max_client_connections, PgBouncer 1.24+); only where one is "
                 "set.",
                 l, static_cast<double>(*d->max_client_connections));
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
};

}  // namespace

std::unique_ptr<Collector> NewPgBouncerDatabasesCollector() {
  return std::make_unique<PgBouncerDatabasesCollector>();
}

}  // namespace pgconn
