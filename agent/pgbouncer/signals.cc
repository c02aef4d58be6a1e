
#include "pgbouncer/pgbouncer.h"

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

std::optional<int64_t> PoolSize(const PgBouncerData& data,
                                const std::string& database) {
  for (const PgBouncerDatabase& d : data.databases) {
    if (d.name == database) return d.pool_size;
  }
  // A pool whose database row is gone (an auto-database just dropped, or
  // the databases collector failed) falls back to the global default.
  if (data.has_config) return data.config.default_pool_size;
  return std::nullopt;
}

}  // namespace

PgBouncerSignals DerivePgBouncerSignals(const PgBouncerData& data) {
  PgBouncerSignals s;
  for (const PgBouncerPool& p : data.pools) {
    s.logical_connections += Sum(p.clients);
    s.physical_connections += Sum(p.servers);
    s.waiting_clients += Get(p.clients, "waiting");
    PgBouncerPoolSignals ps;
    ps.servers_in_use = Get(p.servers, "active") +
                        Get(p.servers, "active_cancel") +
                        Get(p.servers, "being_canceled");
    ps.pool_size = PoolSize(data, p.database);
    if (ps.pool_size && *ps.pool_size > 0) {
      ps.server_utilization = static_cast<double>(ps.servers_in_use) /
                              static_cast<double>(*ps.pool_size);
    }
    s.pools.push_back(ps);
  }
  if (data.has_lists) {
    auto it = data.lists.find("used_clients");
    if (it != data.lists.end()) s.used_clients = it->second;
  }
  if (s.used_clients && data.has_config && data.config.max_client_conn > 0) {
    s.client_utilization = static_cast<double>(*s.used_clients) /
                           static_cast<double>(data.config.max_client_conn);
  }
  return s;
}

}  // namespace pgconn
