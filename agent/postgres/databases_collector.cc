// Client connections per database against datconnlimit. Every database that
// accepts connections is listed, with 0 where nobody is connected.
#include "collect/collector.h"
#include "postgres/client_backends.h"
#include "postgres/limited_groups.h"
#include "postgres/registry.h"

namespace pgconn {
namespace {

class DatabasesCollector final : public Collector {
 public:
  std::string_view name() const override { return "databases"; }

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

  Status Parse(const ResultSet& rs, Snapshot* out) const override {
    Status s = detail::ParseLimitedGroups(name(), rs, &out->postgres.databases);
    out->postgres.has_databases = s.ok();
    return s;
  }
};

}  // namespace

std::unique_ptr<Collector> NewDatabasesCollector() {
  return std::make_unique<DatabasesCollector>();
}

}  // namespace pgconn
