// The peak of waiting clients per PgBouncer pool over peak_window: a pool
// that ran out of servers for two seconds still shows at the next scrape.
#include "pgbouncer/peak_stage.h"

#include "collect/peak_window.h"
#include "pgbouncer/pgbouncer.h"
#include "pgconn/thread_annotations.h"

namespace pgconn {
namespace {

// database and user as one key; '\0' cannot occur in either.
std::string PoolKey(const std::string& database, const std::string& user) {
  return database + '\0' + user;
}

struct PgBouncerPeaks {
  static constexpr std::string_view kName = "pgbouncer_peaks";
  std::map<std::string, double> waiting;  // by PoolKey
};

class PgBouncerPeakStage final : public SignalStage {
 public:
  PgBouncerPeakStage(Duration window, const Clock& clock)
      : clock_(clock), waiting_(window) {}

  void Derive(Snapshot* snap) const override {
    const auto* pools = snap->Find<PgBouncerPools>();
    if (pools == nullptr) return;
    std::map<std::string, double> waiting;
    for (const PgBouncerPool& p : pools->pools) {
      auto it = p.clients.find("waiting");
      waiting[PoolKey(p.database, p.user)] =
          it == p.clients.end() ? 0 : static_cast<double>(it->second);
    }
    PgBouncerPeaks peaks;
    {
      MutexLock lock(&mu_);
      waiting_.Add(clock_.Monotonic(), waiting);
      peaks.waiting = waiting_.Peaks();
    }
    // Pools that are still there are exported even at 0.
    for (const auto& [key, n] : waiting) peaks.waiting.try_emplace(key, 0);
    snap->Put(std::move(peaks));
  }

  void Emit(const Snapshot& snap, const EmitContext& ctx,
            MetricsWriter* w) const override {
    const auto* p = snap.Find<PgBouncerPeaks>();
    if (p == nullptr) return;
    for (const auto& [key, n] : p->waiting) {
      const size_t sep = key.find('\0');
      w->Gauge("pgconn_pgbouncer_waiting_clients_peak",
               "Highest number of clients of the PgBouncer pool waiting for a "
               "server connection (SHOW POOLS cl_waiting) any poll saw within "
               "the peak window.",
               WithLabel(WithLabel(ctx.target, "database", key.substr(0, sep)),
                         "user", key.substr(sep + 1)),
               n);
    }
  }

 private:
  const Clock& clock_;
  mutable Mutex mu_;
  mutable KeyedPeakWindows waiting_ PGCONN_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<SignalStage> NewPgBouncerPeakStage(Duration window,
                                                   const Clock& clock) {
  return std::make_unique<PgBouncerPeakStage>(window, clock);
}

}  // namespace pgconn
