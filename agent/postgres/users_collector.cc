// Client connections per role against rolconnlimit: roles that are connected
// and roles that have a limit (a cluster may have thousands of idle roles).
#include "collect/collector.h"
#include "postgres/client_backends.h"
#include "postgres/limited_groups.h"
#include "postgres/observations.h"

namespace pgconn {
namespace {

class UsersCollector final : public CollectorOf<UserConnections> {
 public:
  std::string Statement(const CollectorContext& ctx) const override {
    return detail::FoldedLimitedGroupsStatement(
        "SELECT r.rolname AS name, r.rolconnlimit AS connection_limit,"
        " count(a.pid) AS connections"
        " FROM pg_roles r LEFT JOIN pg_stat_activity a"
        " ON a.usesysid = r.oid AND " +
            detail::ClientBackendCondition("a") +
            " WHERE r.rolcanlogin GROUP BY r.rolname, r.rolconnlimit"
            " HAVING count(a.pid) > 0 OR r.rolconnlimit >= 0",
        ctx.max_users);
  }

 protected:
  Result<UserConnections> ParseRows(const ResultSet& rs) const override {
    UserConnections out;
    Status s = detail::ParseLimitedGroups(name(), rs, &out.groups);
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
