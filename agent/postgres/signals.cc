#include "postgres/signals.h"

#include <algorithm>

namespace pgconn {

Signals DeriveSignals(const PostgresData& data, const Thresholds& thresholds) {
  Signals s;
  for (const ActivityGroup& g : data.activity) {
    s.used += g.connections;
    s.lock_waiting += g.lock_waiting;
    ApplicationSignals& app = s.applications[g.application];
    app.connections += g.connections;
    app.oldest_transaction_seconds =
        std::max(app.oldest_transaction_seconds, g.oldest_transaction_seconds);
    if (g.state == "idle") {
      s.idle += g.connections;
      app.oldest_idle_seconds =
          std::max(app.oldest_idle_seconds, g.oldest_state_seconds);
    } else if (g.state == "idle in transaction" ||
               g.state == "idle in transaction (aborted)") {
      s.idle_in_transaction += g.connections;
      app.oldest_idle_in_transaction_seconds = std::max(
          app.oldest_idle_in_transaction_seconds, g.oldest_state_seconds);
    }
  }
  const ConnectionLimits& l = data.limits;
  s.reserved = l.superuser_reserved_connections + l.reserved_connections;
  s.usable = std::max<int64_t>(l.max_connections - s.reserved, 0);
  s.available = std::max<int64_t>(s.usable - s.used, 0);
  if (s.usable > 0) {
    s.utilization = static_cast<double>(s.used) / static_cast<double>(s.usable);
  } else {
    s.utilization = 1.0;  // no slot an ordinary role could take
  }
  s.near_limit = s.utilization >= thresholds.near_limit;
  s.idle_ratio = s.used > 0
                     ? static_cast<double>(s.idle) / static_cast<double>(s.used)
                     : 0.0;
  return s;
}

std::optional<double> LimitUtilization(const LimitedGroup& group) {
  if (!group.limit.has_value()) return std::nullopt;
  if (*group.limit == 0) return 1.0;
  return static_cast<double>(group.connections) /
         static_cast<double>(*group.limit);
}

}  // namespace pgconn
