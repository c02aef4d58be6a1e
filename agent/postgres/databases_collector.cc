// Client connections per database against datconnlimit. Every database that
// accepts connections is listed, with 0 where nobody is connected.
#include "collect/collector.h"
#include "postgres/activity_scan.h"
#include "postgres/limited_groups.h"
#include "postgres/observations.h"

namespace pgconn {
namespace {

class DatabasesCollector final
    : public detail::ScanPartCollector<DatabaseConnections> {
 protected:
  Result<DatabaseConnections> ParseRows(const ResultSet& rs) const override {
    DatabaseConnections out;
    Status s =
        detail::ParseLimitedGroups(name(), "datid", false, rs, &out.groups);
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
