// The warning signs of the connection-pooling guide, derived from a snapshot
// by pure arithmetic.
#ifndef PGCONN_AGENT_POSTGRES_SIGNALS_H_
#define PGCONN_AGENT_POSTGRES_SIGNALS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "collect/snapshot.h"

namespace pgconn {

struct Thresholds {
  double near_limit = 0.8;  // the guide's "total < 80 % of max_connections"
};

// Per application, across its states.
struct ApplicationSignals {
  int64_t connections = 0;
  double oldest_idle_seconds = 0;
  double oldest_idle_in_transaction_seconds = 0;  // both idle-in-tx states
  double oldest_transaction_seconds = 0;
};

struct Signals {
  int64_t used = 0;       // client backends
  int64_t reserved = 0;   // superuser_reserved + reserved
  int64_t usable = 0;     // max(max_connections - reserved, 0)
  int64_t available = 0;  // max(usable - used, 0)
  // used / usable. With no usable slot at all it is 1 (nothing more can
  // connect). Above 1 when superusers eat into the reserved slots.
  double utilization = 0;
  bool near_limit = false;  // utilization >= threshold
  int64_t idle = 0;
  double idle_ratio = 0;  // idle / used; 0 when nothing is used
  int64_t idle_in_transaction = 0;
  int64_t lock_waiting = 0;
  std::map<std::string, ApplicationSignals> applications;
};

Signals DeriveSignals(const PostgresData& data, const Thresholds& thresholds);

// connections / limit for a database or role; nullopt without a limit. A
// limit of 0 admits nobody, so it reads as full: 1.
std::optional<double> LimitUtilization(const LimitedGroup& group);

}  // namespace pgconn

#endif  // PGCONN_AGENT_POSTGRES_SIGNALS_H_
