// max_connections and the slots PostgreSQL keeps back from ordinary roles.
#include "collect/collector.h"
#include "postgres/observations.h"

namespace pgconn {
namespace {

class SettingsCollector final : public CollectorOf<ConnectionLimits> {
 public:
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

 protected:
  Result<ConnectionLimits> ParseRows(const ResultSet& rs) const override {
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
    if (*max < 0) {
      return Status::InvalidData("settings: max_connections is NULL");
    }
    ConnectionLimits l;
    l.server_version_num = static_cast<int>(*version);
    l.max_connections = *max;
    l.superuser_reserved_connections = *su;
    l.reserved_connections = *res;
    l.has_reserved_connections = c_res >= 0 && row[c_res].has_value();
    return l;
  }

  void EmitMetrics(const ConnectionLimits& l, const Labels& t,
                   MetricsWriter* w) const override {
    w->Gauge("pgconn_server_version_num",
             "PostgreSQL server_version_num of the target.", t,
             l.server_version_num);
    w->Gauge("pgconn_max_connections", "PostgreSQL max_connections setting.", t,
             static_cast<double>(l.max_connections));
    w->Gauge("pgconn_reserved_connections",
             "Slots ordinary roles cannot use: "
             "superuser_reserved_connections plus reserved_connections "
             "(PostgreSQL 16+).",
             t, static_cast<double>(ReservedConnections(l)));
    w->Gauge("pgconn_usable_connections",
             "Slots for ordinary roles: max_connections minus reserved, "
             "floored at 0.",
             t, static_cast<double>(UsableConnections(l)));
  }
};

}  // namespace

std::unique_ptr<Collector> NewSettingsCollector() {
  return std::make_unique<SettingsCollector>();
}

}  // namespace pgconn
