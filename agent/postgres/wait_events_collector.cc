// Client backends waiting, by application and wait_event_type: what a
// pool's sessions wait on (a lock, I/O, a lightweight lock, the client),
// from the same scan of pg_stat_activity (activity_scan.h): one more part
// of the one statement, no statement of its own. Applications are folded
// as the activity collector folds them; wait_event_type is PostgreSQL's
// own short list, the same in 14 to 18 (Activity, BufferPin, Client,
// Extension, IO, IPC, Lock, LWLock, Timeout; InjectionPoint in 17+ servers
// built with injection points), so the series stay bounded.
#include <map>
#include <utility>

#include "collect/collector.h"
#include "postgres/activity_scan.h"

namespace pgconn {
namespace {

struct WaitEvents {
  static constexpr std::string_view kName = "wait_events";
  // (application label, wait_event_type) -> client backends waiting.
  std::map<std::pair<std::string, std::string>, int64_t> waiting;
};

Result<WaitEvents> Read(const ResultSet& rs, const CollectorContext& ctx) {
  const int c_wait = rs.ColumnIndex("wait_event_type");
  if (c_wait < 0) {
    return Status::InvalidData("wait_events: missing wait_event_type column");
  }
  auto shared = detail::ScanClients::Shared(rs, ctx, WaitEvents::kName);
  if (!shared.ok()) return shared.status();
  const detail::ScanClients* clients = shared->get();
  WaitEvents out;
  for (size_t i = 0; i < clients->rows().size(); ++i) {
    const auto type = rs.cell(clients->rows()[i], c_wait);
    if (!type) continue;  // not waiting
    out.waiting[{clients->Label(clients->application(i)),
                 std::string(*type)}] += clients->connections(i);
  }
  return out;
}

class WaitEventsCollector final : public detail::ScanPartCollector<WaitEvents> {
 protected:
  Result<WaitEvents> ParseScan(const ResultSet& rows,
                               const CollectorContext& ctx) const override {
    return Read(rows, ctx);
  }
  Result<WaitEvents> ParseRows(const ResultSet& rows) const override {
    return Read(rows, CollectorContext{});
  }

  void EmitMetrics(const WaitEvents& e, const Labels& t,
                   MetricsWriter* w) const override {
    for (const auto& [key, n] : e.waiting) {
      w->Gauge("pgconn_wait_event_connections",
               "Client backends waiting (pg_stat_activity.wait_event_type "
               "not NULL) by application and wait_event_type; absent where "
               "none waits.",
               WithLabel(WithLabel(t, "application", key.first),
                         "wait_event_type", key.second),
               static_cast<double>(n));
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewWaitEventsCollector() {
  return std::make_unique<WaitEventsCollector>();
}

}  // namespace pgconn
