#include "postgres/opened_stage.h"

#include "pgconn/thread_annotations.h"
#include "postgres/observations.h"

namespace pgconn {
namespace {

class ConnectionsOpenedStage final : public SignalStage {
 public:
  void Derive(Snapshot* snap) const override {
    const auto* activity = snap->Find<Activity>();
    ConnectionsOpened out;
    MutexLock lock(&mu_);
    if (activity != nullptr) {
      // Only the applications of this poll keep a counter, so the labels
      // stay as bounded as pgconn_connections' (a client that invents a
      // new name each time cannot grow them); one that comes back after a
      // poll without connections starts again from 0, a counter reset.
      std::map<std::string, int64_t> next;
      for (const ActivityGroup& g : activity->groups) {
        auto [it, inserted] = next.try_emplace(g.application, 0);
        if (inserted) {
          auto old = totals_.find(g.application);
          if (old != totals_.end()) it->second = old->second;
        }
        it->second += g.opened_connections;
      }
      totals_ = std::move(next);
    }
    out.totals = totals_;
    snap->Put(std::move(out));
  }

  void Emit(const Snapshot& snap, const EmitContext& ctx,
            MetricsWriter* w) const override {
    const auto* opened = snap.Find<ConnectionsOpened>();
    if (opened == nullptr) return;
    for (const auto& [app, n] : opened->totals) {
      w->Counter("pgconn_connections_opened_total",
                 "Client backends seen with a backend_start after the "
                 "previous poll's server time, summed over polls: a lower "
                 "bound (connections opened and closed between two polls are "
                 "missed; the first poll counts none).",
                 WithLabel(ctx.target, "application", app),
                 static_cast<double>(n));
    }
  }

 private:
  // Derive runs on the poller thread only; the lock keeps the stage
  // thread-safe as every stage must be.
  mutable Mutex mu_;
  mutable std::map<std::string, int64_t> totals_ PGCONN_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<SignalStage> NewConnectionsOpenedStage() {
  return std::make_unique<ConnectionsOpenedStage>();
}

}  // namespace pgconn
