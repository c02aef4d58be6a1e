// max_connections and the slots PostgreSQL keeps back from ordinary roles.
#include "collect/collector.h"
#include "postgres/registry.h"

namespace pgconn {
namespace {

class SettingsCollector final : public Collector {
 public:
  std::string_view name() const override { return "settings"; }

  std::string Statement(const CollectorContext&) const override {
    // current_setting(name, true) is NULL where the setting does not exist:
    // reserved_connections arrived in PostgreSQL 16.
    return "SELECT current_setting('server_version_num') AS server_version_num,"
           " current_setting('max_connections') AS max_connections,"
           " current_setting('superuser_reserved_connections')"
           " AS superuser_reserved_connections,"
           " current_setting('reserved_connections', true)"
           " AS reserved_connections";
  }

  Status Parse(const ResultSet& rs, Snapshot* out) const override {
    if (rs.size() != 1) {
      return Status::InvalidData("settings: expected 1 row, got " +
                                 std::to_string(rs.size()));
    }
    const int c_version = rs.ColumnIndex("server_version_num");
    const int c_max = rs.ColumnIndex("max_connections");
    const int c_su = rs.ColumnIndex("superuser_reserved_connections");
    const int c_res = rs.ColumnIndex("reserved_connections");
    if (c_max < 0 || c_su < 0) {
      return Status::InvalidData(
          "settings: missing max_connections or "
          "superuser_reserved_connections column");
    }
    const auto& row = rs.rows()[0];
    auto version = CellInt64(rs, row, c_version, 0);
    auto max = CellInt64(rs, row, c_max, -1);
    auto su = CellInt64(rs, row, c_su, 0);
    auto res = CellInt64(rs, row, c_res, 0);
    for (const Status* s :
         {&version.status(), &max.status(), &su.status(), &res.status()}) {
      if (!s->ok()) return s->WithContext("settings");
    }
    if (*max < 0)
      return Status::InvalidData("settings: max_connections is NULL");
    PostgresData& pg = out->postgres;
    pg.server_version_num = static_cast<int>(*version);
    pg.limits.max_connections = *max;
    pg.limits.superuser_reserved_connections = *su;
    pg.limits.reserved_connections = *res;
    pg.limits.has_reserved_connections = c_res >= 0 && row[c_res].has_value();
    pg.has_limits = true;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Collector> NewSettingsCollector() {
  return std::make_unique<SettingsCollector>();
}

}  // namespace pgconn
