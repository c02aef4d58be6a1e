// SHOW DATABASES: per [databases] entry, its pool size and reserve, its
// server connections against max_db_connections, and (1.24+) its client
// connections against max_db_client_connections.
#include <array>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "pgbouncer/columns.h"
#include "pgbouncer/registry.h"

namespace pgconn {
namespace {

class PgBouncerDatabasesCollector final : public Collector {
 public:
  std::string_view name() const override { return "pgbouncer_databases"; }

  std::string Statement(const CollectorContext&) const override {
    return "SHOW DATABASES";
  }

  Status Parse(const ResultSet& rs, Snapshot* out) const override {
    out->pgbouncer.has_databases = false;
    detail::PgBouncerColumns c(name(), rs);
    const int c_name = c.Require({"name"});
    const int c_pool = c.Require({"pool_size"});
    const int c_current = c.Require({"current_connections"});
    // Renamed in 1.24; the metric stays the same.
    const int c_reserve = c.Find({"reserve_pool_size", "reserve_pool"});
    const int c_max = c.Find({"max_connections"});
    const int c_max_clients = c.Find({"max_client_connections"});
    const int c_clients = c.Find({"current_client_connections"});
    const int c_paused = c.Find({"paused"});
    const int c_disabled = c.Find({"disabled"});
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
      d.pool_size = pool.value_or(0);
      d.current_connections = current.value_or(0);
      d.reserve_pool_size = reserve;
      d.max_connections = max;
      d.max_client_connections = max_clients;
      d.current_client_connections = clients;
      if (paused) d.paused = *paused != 0;
      if (disabled) d.disabled = *disabled != 0;
      dbs.push_back(std::move(d));
    }
    out->pgbouncer.databases = std::move(dbs);
    out->pgbouncer.has_databases = true;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Collector> NewPgBouncerDatabasesCollector() {
  return std::make_unique<PgBouncerDatabasesCollector>();
}

}  // namespace pgconn
