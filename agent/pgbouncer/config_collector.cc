// SHOW CONFIG: the settings that bound connections (max_client_conn, the
// pool sizes, per-database and per-user server limits, how long a client
// may wait) and the default pool_mode. One row per setting.
#include <string>
#include <utility>

#include "collect/collector.h"
#include "pgbouncer/columns.h"
#include "pgbouncer/pgbouncer.h"

namespace pgconn {
namespace {

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

class PgBouncerConfigCollector final : public CollectorOf<PgBouncerConfig> {
 public:
  std::string Statement(const CollectorContext&) const override {
    return "SHOW CONFIG";
  }

 protected:
  Result<PgBouncerConfig> ParseRows(const ResultSet& rs) const override {
    detail::PgBouncerColumns c(name(), rs);
    const int c_key = c.Require({"key"});
    const int c_value = c.Require({"value"});
    if (!c.status().ok()) return c.status();

    PgBouncerConfig cfg;
    for (const auto& row : rs.rows()) {
      const std::string key = CellText(row, c_key);
      std::optional<int64_t>* int_setting =
          key == "max_client_conn"        ? &cfg.max_client_conn
          : key == "default_pool_size"    ? &cfg.default_pool_size
          : key == "reserve_pool_size"    ? &cfg.reserve_pool_size
          : key == "max_db_connections"   ? &cfg.max_db_connections
          : key == "max_user_connections" ? &cfg.max_user_connections
                                          : nullptr;
      const std::string value = CellText(row, c_value);
      // NULL or empty: the setting is not set (not a number of 0).
      if (value.empty()) continue;
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
    // Settings every supported version has: a missing one is reported, and
    // its metric (and what derives from it) is absent.
    const std::pair<std::string_view, bool> expected[] = {
        {"max_client_conn", cfg.max_client_conn.has_value()},
        {"default_pool_size", cfg.default_pool_size.has_value()},
        {"reserve_pool_size", cfg.reserve_pool_size.has_value()},
        {"max_db_connections", cfg.max_db_connections.has_value()},
        {"max_user_connections", cfg.max_user_connections.has_value()},
        {"query_wait_timeout", cfg.query_wait_timeout_seconds.has_value()},
        {"pool_mode", !cfg.pool_mode.empty()},
    };
    for (const auto& [key, found] : expected) {
      if (!found) cfg.missing_columns.emplace_back(key);
    }
    return cfg;
  }

  void EmitMetrics(const PgBouncerConfig& c, const Labels& t,
                   MetricsWriter* w) const override {
    if (c.max_client_conn) {
      w->Gauge("pgconn_pgbouncer_max_client_connections",
               "PgBouncer max_client_conn: client connections it accepts "
               "before refusing new ones (SHOW CONFIG).",
               t, static_cast<double>(*c.max_client_conn));
    }
    if (c.default_pool_size) {
      w->Gauge("pgconn_pgbouncer_default_pool_size",
               "PgBouncer default_pool_size: server connections per "
               "(database, user) pool unless overridden (SHOW CONFIG).",
               t, static_cast<double>(*c.default_pool_size));
    }
    for (const OptionalSetting& o : kOptionalSettings) {
      if (const std::optional<int64_t>& v = c.*o.value) {
        w->Gauge(o.name, o.help, t, static_cast<double>(*v));
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
               WithLabel(t, "mode", mode), c.pool_mode == mode ? 1 : 0);
    }
    if (!known && !c.pool_mode.empty()) {
      w->Gauge("pgconn_pgbouncer_pool_mode",
               "1 for PgBouncer's default pool_mode (session, transaction or "
               "statement), 0 for the others (SHOW CONFIG).",
               WithLabel(t, "mode", c.pool_mode), 1);
    }
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
