// SHOW POOLS: the clients and servers of every (database, user) pool by
// state, and the age of the oldest waiting client. Pool exhaustion shows
// only here: PostgreSQL sees PgBouncer's server connections, never the
// clients queued for one.
#include <map>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "pgbouncer/columns.h"
#include "pgbouncer/registry.h"

namespace pgconn {
namespace {

struct StateColumn {
  std::string_view state;
  int column;
};

// A state whose column is absent or NULL stays out of `into`.
template <size_t N>
Status ReadStates(const detail::PgBouncerColumns& c, const ResultSet::Row& row,
                  const StateColumn (&states)[N],
                  std::map<std::string, int64_t>* into) {
  for (const StateColumn& s : states) {
    auto v = c.Int(row, s.column);
    if (!v.ok()) return v.status();
    if (*v) (*into)[std::string(s.state)] = **v;
  }
  return Status::Ok();
}

class PgBouncerPoolsCollector final : public Collector {
 public:
  std::string_view name() const override { return "pgbouncer_pools"; }

  std::string Statement(const CollectorContext&) const override {
    return "SHOW POOLS";
  }

  Status Parse(const ResultSet& rs, Snapshot* out) const override {
    out->pgbouncer.has_pools = false;
    detail::PgBouncerColumns c(name(), rs);
    const int c_db = c.Require({"database"});
    const int c_user = c.Require({"user"});
    // 1.16 and 1.17 had one cancel column with the meaning that 1.18 gave
    // to cl_waiting_cancel_req.
    const StateColumn clients[] = {
        {"active", c.Require({"cl_active"})},
        {"waiting", c.Require({"cl_waiting"})},
        {"active_cancel_req", c.Find({"cl_active_cancel_req"})},
        {"waiting_cancel_req",
         c.Find({"cl_waiting_cancel_req", "cl_cancel_req"})},
    };
    const StateColumn servers[] = {
        {"active", c.Require({"sv_active"})},
        {"active_cancel", c.Find({"sv_active_cancel"})},
        {"being_canceled", c.Find({"sv_being_canceled"})},
        {"idle", c.Require({"sv_idle"})},
        {"used", c.Find({"sv_used"})},
        {"tested", c.Find({"sv_tested"})},
        {"login", c.Find({"sv_login"})},
    };
    const int c_maxwait = c.Find({"maxwait"});
    const int c_maxwait_us = c.Find({"maxwait_us"});
    if (!c.status().ok()) return c.status();

    std::vector<PgBouncerPool> pools;
    for (const auto& row : rs.rows()) {
      PgBouncerPool p;
      p.database = CellText(row, c_db);
      if (p.database == kPgBouncerAdminDatabase) continue;
      p.user = CellText(row, c_user);
      if (Status s = ReadStates(c, row, clients, &p.clients); !s.ok()) {
        return s;
      }
      if (Status s = ReadStates(c, row, servers, &p.servers); !s.ok()) {
        return s;
      }
      auto wait = c.Int(row, c_maxwait);
      if (!wait.ok()) return wait.status();
      auto wait_us = c.Int(row, c_maxwait_us);
      if (!wait_us.ok()) return wait_us.status();
      p.max_wait_seconds = static_cast<double>(wait->value_or(0)) +
                           static_cast<double>(wait_us->value_or(0)) / 1e6;
      pools.push_back(std::move(p));
    }
    out->pgbouncer.pools = std::move(pools);
    out->pgbouncer.has_pools = true;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Collector> NewPgBouncerPoolsCollector() {
  return std::make_unique<PgBouncerPoolsCollector>();
}

}  // namespace pgconn
