// SHOW CONFIG: the settings that bound connections (max_client_conn, the
// pool sizes, per-database and per-user server limits, how long a client
// may wait) and the default pool_mode. One row per setting.
#include <string>

#include "collect/collector.h"
#include "pgbouncer/columns.h"
#include "pgbouncer/registry.h"

namespace pgconn {
namespace {

class PgBouncerConfigCollector final : public Collector {
 public:
  std::string_view name() const override { return "pgbouncer_config"; }

  std::string Statement(const CollectorContext&) const override {
    return "SHOW CONFIG";
  }

  Status Parse(const ResultSet& rs, Snapshot* out) const override {
    out->pgbouncer.has_config = false;
    detail::PgBouncerColumns c(name(), rs);
    const int c_key = c.Require({"key"});
    const int c_value = c.Require({"value"});
    if (!c.status().ok()) return c.status();

    std::optional<int64_t> max_client_conn, default_pool_size;
    PgBouncerConfig cfg;
    for (const auto& row : rs.rows()) {
      const std::string key = CellText(row, c_key);
      std::optional<int64_t>* int_setting =
          key == "max_client_conn"        ? &max_client_conn
          : key == "default_pool_size"    ? &default_pool_size
          : key == "reserve_pool_size"    ? &cfg.reserve_pool_size
          : key == "max_db_connections"   ? &cfg.max_db_connections
          : key == "max_user_connections" ? &cfg.max_user_connections
                                          : nullptr;
      const std::string value = CellText(row, c_value);
      if (int_setting != nullptr) {
        auto v = ParseInt64(value);
        if (!v.ok()) return v.status().WithContext(Where(key));
        *int_setting = *v;
      } else if (key == "query_wait_timeout") {
        // Seconds; PgBouncer prints fractions where it was set to one.
        auto v = ParseDouble(value);
        if (!v.ok()) return v.status().WithContext(Where(key));
        cfg.query_wait_timeout_seconds = *v;
      } else if (key == "pool_mode") {
        cfg.pool_mode = value;
      }
    }
    if (!max_client_conn || !default_pool_size) {
      return Status::InvalidData(std::string(name()) +
                                 ": max_client_conn or default_pool_size "
                                 "missing");
    }
    cfg.max_client_conn = *max_client_conn;
    cfg.default_pool_size = *default_pool_size;
    out->pgbouncer.config = std::move(cfg);
    out->pgbouncer.has_config = true;
    return Status::Ok();
  }

 private:
  std::string Where(const std::string& key) const {
    return std::string(name()) + ": " + key;
  }
};

}  // namespace

std::unique_ptr<Collector> NewPgBouncerConfigCollector() {
  return std::make_unique<PgBouncerConfigCollector>();
}

}  // namespace pgconn
