// The peaks of a PostgreSQL target over peak_window: used connections,
// utilization and connections per application, the highest any poll saw.
#include "postgres/peak_stage.h"

#include "collect/peak_window.h"
#include "pgconn/thread_annotations.h"
#include "postgres/signals.h"

namespace pgconn {
namespace {

class PostgresPeakStage final : public SignalStage {
 public:
  PostgresPeakStage(Duration window, const Clock& clock)
      : window_(window),
        clock_(clock),
        used_(window),
        utilization_(window),
        applications_(window) {}

  void Derive(Snapshot* snap) const override {
    const auto* s = snap->Find<ConnectionSignals>();
    const auto* activity = snap->Find<Activity>();
    if (s == nullptr || activity == nullptr) return;
    std::map<std::string, double> apps;
    for (const auto& [app, summary] : activity->summary.applications) {
      apps[app] = static_cast<double>(summary.connections);
    }
    const auto now = clock_.Monotonic();
    PostgresPeaks peaks;
    {
      MutexLock lock(&mu_);
      used_.Add(now, static_cast<double>(s->used));
      utilization_.Add(now, s->utilization);
      applications_.Add(now, apps);
      peaks.used = used_.Max();
      peaks.utilization = utilization_.Max();
      peaks.applications = applications_.Peaks();
    }
    peaks.window_seconds = std::chrono::duration<double>(window_).count();
    snap->Put(std::move(peaks));
  }

  void Emit(const Snapshot& snap, const EmitContext& ctx,
            MetricsWriter* w) const override {
    const auto* p = snap.Find<PostgresPeaks>();
    if (p == nullptr) return;
    const Labels& t = ctx.target;
    w->Gauge("pgconn_peak_window_seconds",
             "How far back the *_peak gauges look (peak_window).", t,
             p->window_seconds);
    w->Gauge("pgconn_used_connections_peak",
             "Highest pgconn_used_connections any poll saw within the peak "
             "window: a spike between two scrapes still shows.",
             t, p->used);
    w->Gauge("pgconn_utilization_peak_ratio",
             "Highest pgconn_utilization_ratio any poll saw within the peak "
             "window.",
             t, p->utilization);
    for (const auto& [app, n] : p->applications) {
      w->Gauge("pgconn_application_connections_peak",
               "Highest number of client connections of the application "
               "(every state) any poll saw within the peak window.",
               WithLabel(t, "application", app), n);
    }
  }

 private:
  const Duration window_;
  const Clock& clock_;
  // Derive runs on the poller thread only; the lock keeps the stage
  // thread-safe as every stage must be.
  mutable Mutex mu_;
  mutable PeakWindow used_ PGCONN_GUARDED_BY(mu_);
  mutable PeakWindow utilization_ PGCONN_GUARDED_BY(mu_);
  mutable KeyedPeakWindows applications_ PGCONN_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<SignalStage> NewPostgresPeakStage(Duration window,
                                                  const Clock& clock) {
  return std::make_unique<PostgresPeakStage>(window, clock);
}

}  // namespace pgconn
