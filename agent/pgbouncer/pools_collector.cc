// SHOW POOLS: the clients and servers of every (database, user) pool by
// state, and the age of the oldest waiting client. Pool exhaustion shows
// only here: PostgreSQL sees PgBouncer's server connections, never the
// clients queued for one.
#include <algorithm>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "pgbouncer/columns.h"
#include "pgbouncer/pgbouncer.h"

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

class PgBouncerPoolsCollector final : public CollectorOf<PgBouncerPools> {
 public:
  std::string Statement(const CollectorContext&) const override {
    return "SHOW POOLS";
  }

 protected:
  Result<PgBouncerPools> ParseRows(const ResultSet& rs) const override {
    detail::PgBouncerColumns c(name(), rs);
    const int c_db = c.Require({"database"});
    const int c_user = c.Require({"user"});
    // 1.16 and 1.17 had one cancel column with the meaning that 1.18 gave
    // to cl_waiting_cancel_req.
    const StateColumn clients[] = {
        {"active", c.Expect({"cl_active"})},
        {"waiting", c.Expect({"cl_waiting"})},
        {"active_cancel_req", c.Find({"cl_active_cancel_req"})},
        {"waiting_cancel_req",
         c.Find({"cl_waiting_cancel_req", "cl_cancel_req"})},
    };
    const StateColumn servers[] = {
        {"active", c.Expect({"sv_active"})},
        {"active_cancel", c.Find({"sv_active_cancel"})},
        {"being_canceled", c.Find({"sv_being_canceled"})},
        {"idle", c.Expect({"sv_idle"})},
        {"used", c.Find({"sv_used"})},
        {"tested", c.Find({"sv_tested"})},
        {"login", c.Find({"sv_login"})},
    };
    const int c_maxwait = c.Expect({"maxwait"});
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
    PgBouncerPools out;
    out.pools = std::move(pools);
    out.missing_columns = c.missing();
    Summarize(&out);
    return out;
  }

  void EmitMetrics(const PgBouncerPools& b, const Labels& t,
                   MetricsWriter* w) const override {
    std::vector<const PgBouncerPool*> sorted;
    for (const auto& p : b.pools) sorted.push_back(&p);
    std::sort(sorted.begin(), sorted.end(), [](auto* x, auto* y) {
      return std::tie(x->database, x->user) < std::tie(y->database, y->user);
    });
    for (const PgBouncerPool* p : sorted) {
      const Labels l =
          WithLabel(WithLabel(t, "database", p->database), "user", p->user);
      for (auto state : kPgBouncerClientStates) {
        auto it = p->clients.find(std::string(state));
        if (it == p->clients.end()) continue;  // not reported by this version
        w->Gauge("pgconn_pgbouncer_clients",
                 "Client connections of a PgBouncer pool by state (SHOW POOLS "
                 "cl_active, cl_waiting, cl_active_cancel_req, "
                 "cl_waiting_cancel_req). waiting = sent a query and has no "
                 "server connection yet.",
                 WithLabel(l, "state", state), static_cast<double>(it->second));
      }
      for (auto state : kPgBouncerServerStates) {
        auto it = p->servers.find(std::string(state));
        if (it == p->servers.end()) continue;
        w->Gauge("pgconn_pgbouncer_servers",
                 "Server connections (to PostgreSQL) of a PgBouncer pool by "
                 "state (SHOW POOLS sv_active, sv_active_cancel, "
                 "sv_being_canceled, sv_idle, sv_used, sv_tested, sv_login).",
                 WithLabel(l, "state", state), static_cast<double>(it->second));
      }
      w->Gauge("pgconn_pgbouncer_max_wait_seconds",
               "How long the oldest waiting client of a PgBouncer pool has "
               "waited for a server connection (SHOW POOLS maxwait + "
               "maxwait_us); 0 when none waits.",
               l, p->max_wait_seconds);
    }
    w->Gauge("pgconn_pgbouncer_logical_connections",
             "Client connections of every PgBouncer pool (the admin "
             "console's excluded): the connections the workers hold.",
             t, static_cast<double>(b.logical_connections));
    w->Gauge("pgconn_pgbouncer_physical_connections",
             "Server connections of every PgBouncer pool: the connections "
             "PostgreSQL sees for the workers behind PgBouncer.",
             t, static_cast<double>(b.physical_connections));
    // Not a made-up 0 when the count is not there.
    if (std::find(b.missing_columns.begin(), b.missing_columns.end(),
                  "cl_waiting") == b.missing_columns.end()) {
      w->Gauge("pgconn_pgbouncer_waiting_clients",
               "Client connections waiting for a server connection, over "
               "every PgBouncer pool: pool exhaustion when it stays above 0.",
               t, static_cast<double>(b.waiting_clients));
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewPgBouncerPoolsCollector() {
  return std::make_unique<PgBouncerPoolsCollector>();
}

}  // namespace pgconn
