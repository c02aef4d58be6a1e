// Connections opened, counted from polls: a signal stage that keeps a
// counter per application across polls (and across failed polls) for the
// life of the target's poller.
#ifndef PGCONN_AGENT_POSTGRES_OPENED_STAGE_H_
#define PGCONN_AGENT_POSTGRES_OPENED_STAGE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "collect/collector.h"

namespace pgconn {

struct ConnectionsOpened {
  static constexpr std::string_view kName = "connections_opened";
  // By application label, folded like pgconn_connections.
  std::map<std::string, int64_t> totals;
};

// Exports pgconn_connections_opened_total{application}: the sum over polls
// of the client backends whose backend_start lies between the previous
// scan's server time and this one's (Activity::groups' opened_connections).
// A lower bound: a connection opened and closed between two polls is never
// seen. Thread-safe.
std::unique_ptr<SignalStage> NewConnectionsOpenedStage();

}  // namespace pgconn

#endif  // PGCONN_AGENT_POSTGRES_OPENED_STAGE_H_
