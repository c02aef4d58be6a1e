#include "pools/pool_evidence.h"

#include "pools/pool_signals.h"

namespace pgconn {

void PoolEvidenceLedger::Record(PeakWindow::TimePoint now, Duration peak_window,
                                double poll_interval_seconds,
                                std::vector<DeclaredPoolSignals>* declared) {
  MutexLock lock(&mu_);
  for (DeclaredPoolSignals& d : *declared) {
    auto it = entries_.try_emplace(d.application, peak_window).first;
    Entry& e = it->second;
    if (e.window != peak_window) {
      e.window = peak_window;
      e.peak = PeakWindow(peak_window);
    }
    const double busy = static_cast<double>(d.busy);
    e.peak.Add(now, busy);
    e.evidence.busy_peak = e.peak.Max();
    // Capacity 0 (scaled to zero replicas) has no pool to wait for: any
    // connection of it is excess instead.
    if (d.declared_max > 0 && d.busy >= d.declared_max) {
      e.evidence.saturated_seconds_total += poll_interval_seconds;
    }
    e.evidence.busy_seconds_total += busy * poll_interval_seconds;
    d.evidence = e.evidence;
  }
}

void PoolEvidenceLedger::Fill(
    std::vector<DeclaredPoolSignals>* declared) const {
  MutexLock lock(&mu_);
  for (DeclaredPoolSignals& d : *declared) {
    auto it = entries_.find(d.application);
    d.evidence = it == entries_.end() ? PoolEvidence{} : it->second.evidence;
  }
}

}  // namespace pgconn
