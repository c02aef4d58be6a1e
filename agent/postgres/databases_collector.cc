// Client connections per database against datconnlimit. Every database that
// accepts connections is listed, with 0 where nobody is connected.
#include "collect/collector.h"
#include "postgres/client_backends.h"
#include "postgres/limited_groups.h"
#include "postgres/observations.h"

namespace pgconn {
namespace {

class DatabasesCollector final : public CollectorOf<DatabaseConnections> {
 public:
  std::string Statement(const CollectorContext& ctx) const override {
    return detail::FoldedLimitedGroupsStatement(
        "SELECT d.datname AS name, d.datconnlimit AS connection_limit,"
        " count(a.pid) AS connections"
        " FROM pg_database d LEFT JOIN pg_stat_activity a"
        " ON a.datid = d.oid AND " +
            detail::ClientBackendCondition("a") +
            " WHERE d.datallowconn GROUP BY d.datname, d.datconnlimit",
        ctx.max_databases);
  }

 protected:
  Result<DatabaseConnections> ParseRows(const ResultSet& rs) const override {
    DatabaseConnections out;
    Status s = detail::ParseLimitedGroups(name(), rs, &out.groups);
    if (!s.ok()) return s;
    return out;
  }

  void EmitMetrics(const DatabaseConnections& d, const Labels& t,
                   MetricsWriter* w) const override {
    detail::EmitLimitedGroups(t, d.groups, "database", "database", w);
  }
};

}  // namespace

std::unique_ptr<Collector> NewDatabasesCollector() {
  return std::make_unique<DatabasesCollector>();
}

}  // namespace pgconn
