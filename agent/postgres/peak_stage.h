// Peaks over a window (peak_window): a signal stage that keeps state across
// polls, unlike the others, so a spike that lasted one poll is still
// exported when Prometheus scrapes up to a window later.
#ifndef PGCONN_AGENT_POSTGRES_PEAK_STAGE_H_
#define PGCONN_AGENT_POSTGRES_PEAK_STAGE_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "collect/collector.h"
#include "pgconn/clock.h"
#include "pgconn/config.h"

namespace pgconn {

struct PostgresPeaks {
  static constexpr std::string_view kName = "postgres_peaks";
  double window_seconds = 0;
  double used = 0;
  double utilization = 0;
  std::map<std::string, double> applications;
};

// Must run after the connection signal stage (it reads ConnectionSignals).
// Exports pgconn_used_connections_peak, pgconn_utilization_peak_ratio,
// pgconn_application_connections_peak and pgconn_peak_window_seconds.
// Thread-safe.
std::unique_ptr<SignalStage> NewPostgresPeakStage(Duration window,
                                                  const Clock& clock);

}  // namespace pgconn

#endif  // PGCONN_AGENT_POSTGRES_PEAK_STAGE_H_
