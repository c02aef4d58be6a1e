#include "pgbouncer/signals.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace pgconn {
namespace {

int64_t Sum(const std::map<std::string, int64_t>& by_state) {
  int64_t n = 0;
  for (const auto& [state, count] : by_state) n += count;
  return n;
}

int64_t Get(const std::map<std::string, int64_t>& by_state,
            std::string_view state) {
  auto it = by_state.find(std::string(state));
  return it == by_state.end() ? 0 : it->second;
}

std::optional<int64_t> PoolSize(const PgBouncerDatabases* databases,
                                const PgBouncerConfig* config,
                                const std::string& database) {
  if (databases != nullptr) {
    for (const PgBouncerDatabase& d : databases->databases) {
      if (d.name == database && d.pool_size) return d.pool_size;
    }
  }
  // A pool whose database row is gone (an auto-database just dropped, or
  // the databases collector failed or lacks pool_size) falls back to the
  // global default.
  if (config != nullptr) return config->default_pool_size;
  return std::nullopt;
}

// (command, column) of the collectors' missing columns, in a fixed order.
std::vector<std::pair<std::string, std::string>> MissingColumns(
    const Snapshot& snap) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](std::string_view command, const PgBouncerMissingColumns* m) {
    if (m == nullptr) return;
    for (const std::string& c : m->missing_columns) {
      out.emplace_back(std::string(command), c);
    }
  };
  add("SHOW POOLS", snap.Find<PgBouncerPools>());
  add("SHOW DATABASES", snap.Find<PgBouncerDatabases>());
  add("SHOW STATS_TOTALS", snap.Find<PgBouncerStatsTotals>());
  add("SHOW LISTS", snap.Find<PgBouncerLists>());
  add("SHOW CONFIG", snap.Find<PgBouncerConfig>());
  return out;
}

class PgBouncerSignalStage final : public SignalStage {
 public:
  void Derive(Snapshot* snap) const override {
    PgBouncerSignals s = DerivePgBouncerSignals(
        snap->Find<PgBouncerPools>(), snap->Find<PgBouncerDatabases>(),
        snap->Find<PgBouncerLists>(), snap->Find<PgBouncerConfig>());
    s.missing_columns = MissingColumns(*snap);
    snap->Put(std::move(s));
  }

  void Emit(const Snapshot& snap, const EmitContext& ctx,
            MetricsWriter* w) const override {
    const Labels& t = ctx.target;
    w->Gauge("pgconn_pgbouncer_up",
             "1 if the last poll of the PgBouncer admin console succeeded, 0 "
             "otherwise (the value of pgconn_up, for PgBouncer targets only).",
             t, ctx.up ? 1 : 0);
    const auto* s = snap.Find<PgBouncerSignals>();
    if (s == nullptr) return;
    for (const auto& [command, column] : s->missing_columns) {
      w->Gauge("pgconn_pgbouncer_missing_columns",
               "1 for each column (for SHOW CONFIG and SHOW LISTS, each row) "
               "that every supported PgBouncer version sends and this one "
               "did not, in the last poll: the collector read the rest, and "
               "the metrics of that column are absent (docs/pgbouncer.md).",
               WithLabel(WithLabel(t, "command", command), "column", column),
               1);
    }
    for (const PgBouncerPoolSignals& p : s->pools) {
      if (!p.server_utilization) continue;
      w->Gauge("pgconn_pgbouncer_server_pool_utilization_ratio",
               "Server connections of a PgBouncer pool that a new "
               "transaction cannot have (active, active_cancel, "
               "being_canceled) divided by the pool size of its database "
               "(default_pool_size when not overridden); above 1 while the "
               "reserve pool is in use.",
               WithLabel(WithLabel(t, "database", p.database), "user", p.user),
               *p.server_utilization);
    }
    if (s->client_utilization) {
      w->Gauge("pgconn_pgbouncer_client_utilization_ratio",
               "PgBouncer used client connections divided by max_client_conn; "
               "at 1 new clients are refused.",
               t, *s->client_utilization);
    }
  }
};

}  // namespace

void Summarize(PgBouncerPools* b) {
  b->logical_connections = 0;
  b->physical_connections = 0;
  b->waiting_clients = 0;
  for (const PgBouncerPool& p : b->pools) {
    b->logical_connections += Sum(p.clients);
    b->physical_connections += Sum(p.servers);
    b->waiting_clients += Get(p.clients, "waiting");
  }
}

PgBouncerSignals DerivePgBouncerSignals(const PgBouncerPools* pools,
                                        const PgBouncerDatabases* databases,
                                        const PgBouncerLists* lists,
                                        const PgBouncerConfig* config) {
  PgBouncerSignals s;
  if (pools != nullptr) {
    for (const PgBouncerPool& p : pools->pools) {
      PgBouncerPoolSignals ps;
      ps.database = p.database;
      ps.user = p.user;
      ps.servers_in_use = Get(p.servers, "active") +
                          Get(p.servers, "active_cancel") +
                          Get(p.servers, "being_canceled");
      ps.pool_size = PoolSize(databases, config, p.database);
      if (ps.pool_size && *ps.pool_size > 0) {
        ps.server_utilization = static_cast<double>(ps.servers_in_use) /
                                static_cast<double>(*ps.pool_size);
      }
      s.pools.push_back(std::move(ps));
    }
    std::sort(s.pools.begin(), s.pools.end(), [](const auto& x, const auto& y) {
      return std::tie(x.database, x.user) < std::tie(y.database, y.user);
    });
  }
  if (lists != nullptr) {
    auto it = lists->lists.find("used_clients");
    if (it != lists->lists.end()) s.used_clients = it->second;
  }
  if (s.used_clients && config != nullptr && config->max_client_conn &&
      *config->max_client_conn > 0) {
    s.client_utilization = static_cast<double>(*s.used_clients) /
                           static_cast<double>(*config->max_client_conn);
  }
  return s;
}

std::unique_ptr<SignalStage> NewPgBouncerSignalStage() {
  return std::make_unique<PgBouncerSignalStage>();
}

}  // namespace pgconn
