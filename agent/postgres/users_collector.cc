// Client connections per role against rolconnlimit: roles that are connected
// and roles that have a limit (a cluster may have thousands of idle roles).
#include "collect/collector.h"
#include "postgres/client_backends.h"
#include "postgres/limited_groups.h"
#include "postgres/registry.h"

namespace pgconn {
namespace {

class UsersCollector final : public Collector {
 public:
  std::string_view name() const override { return "users"; }

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

  Status Parse(const ResultSet& rs, Snapshot* out) const override {
    Status s = detail::ParseLimitedGroups(name(), rs, &out->postgres.users);
    out->postgres.has_users = s.ok();
    return s;
  }
};

}  // namespace

std::unique_ptr<Collector> NewUsersCollector() {
  return std::make_unique<UsersCollector>();
}

}  // namespace pgconn
