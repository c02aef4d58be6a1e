// Client connections per role against rolconnlimit: roles that are connected
// and roles that have a limit (a cluster may have thousands of idle roles).
#include "collect/collector.h"
#include "postgres/activity_scan.h"
#include "postgres/limited_groups.h"
#include "postgres/observations.h"

namespace pgconn {
namespace {

class UsersCollector final : public detail::ScanPartCollector<UserConnections> {
 protected:
  Result<UserConnections> ParseRows(const ResultSet& rs) const override {
    UserConnections out;
    Status s =
        detail::ParseLimitedGroups(name(), "usesysid", true, rs, &out.groups);
    if (!s.ok()) return s;
    return out;
  }

  void EmitMetrics(const UserConnections& u, const Labels& t,
                   MetricsWriter* w) const override {
    detail::EmitLimitedGroups(t, u.groups, "user", "user", w);
  }
};

}  // namespace

std::unique_ptr<Collector> NewUsersCollector() {
  return std::make_unique<UsersCollector>();
}

}  // namespace pgconn
