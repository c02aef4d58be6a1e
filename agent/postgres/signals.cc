#include "postgres/signals.h"

#include <algorithm>

namespace pgconn {
namespace {

class ConnectionSignalStage final : public SignalStage {
 public:
  explicit ConnectionSignalStage(double threshold) : threshold_(threshold) {}

  void Derive(Snapshot* snap) const override {
    const auto* limits = snap->Find<ConnectionLimits>();
    const auto* activity = snap->Find<Activity>();
    if (limits == nullptr || activity == nullptr) return;
    snap->Put(DeriveConnectionSignals(*limits, activity->summary, threshold_));
  }

  void Emit(const Snapshot& snap, const EmitContext& ctx,
            MetricsWriter* w) const override {
    const auto* s = snap.Find<ConnectionSignals>();
    if (s == nullptr) return;
    const Labels& t = ctx.target;
    w->Gauge("pgconn_available_connections",
             "Usable slots not in use: usable minus every client backend "
             "(pgconn's own included), floored at 0; 0 exactly when "
             "PostgreSQL refuses ordinary logins.",
             t, static_cast<double>(s->available));
    w->Gauge("pgconn_utilization_ratio",
             "Used divided by usable connections (1 if nothing is usable); "
             "above 1 when superusers use reserved slots.",
             t, s->utilization);
    w->Gauge("pgconn_near_limit",
             "1 if utilization is at or above the near-limit threshold.", t,
             s->near_limit ? 1 : 0);
    w->Gauge("pgconn_near_limit_threshold_ratio",
             "Configured near-limit threshold (default 0.8, the guide's 80 % "
             "headroom rule).",
             t, s->near_limit_threshold);
  }

 private:
  const double threshold_;
};

}  // namespace

ConnectionSignals DeriveConnectionSignals(const ConnectionLimits& limits,
                                          const ActivitySummary& activity,
                                          double near_limit_threshold) {
  ConnectionSignals s;
  s.used = activity.used;
  s.reserved = ReservedConnections(limits);
  s.usable = UsableConnections(limits);
  s.available = std::max<int64_t>(s.usable - s.used, 0);
  if (s.usable > 0) {
    s.utilization = static_cast<double>(s.used) / static_cast<double>(s.usable);
  } else {
    s.utilization = 1.0;  // no slot an ordinary role could take
  }
  s.near_limit_threshold = near_limit_threshold;
  s.near_limit = s.utilization >= near_limit_threshold;
  return s;
}

std::unique_ptr<SignalStage> NewConnectionSignalStage(
    double near_limit_threshold) {
  return std::make_unique<ConnectionSignalStage>(near_limit_threshold);
}

}  // namespace pgconn
