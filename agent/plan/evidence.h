// What `plan --from-prometheus` reads from the history: per target that
// declares pools, its limits and declared pools at the window's end, the
// busy peak, median and saturation of each declared application over the
// window, how well the window is covered, and the least-squares line of
// used connections. Every number keeps the PromQL it came from.
#ifndef PGCONN_AGENT_PLAN_EVIDENCE_H_
#define PGCONN_AGENT_PLAN_EVIDENCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pgconn/status.h"
#include "plan/prometheus_client.h"

namespace pgconn {

// One query that was run: what it measures and its exact PromQL.
struct EvidenceQuery {
  std::string quantity;  // "busy_peak_connections", "usable_connections"...
  std::string promql;
};

struct ApplicationEvidence {
  std::string application;
  // The declaration as of the last sample in the window.
  std::optional<int64_t> replicas, pool_max, pool_min;
  // The lowest and highest declared replicas over the window.
  std::optional<int64_t> replicas_min, replicas_max;
  // max_over_time of the agent's busy peak over the window only.
  std::optional<double> busy_peak;
  // quantile_over_time(0.5) of the scraped busy count.
  std::optional<double> busy_median;
  // increase() of the saturated-seconds counter.
  std::optional<double> saturated_seconds;
  // Scraped samples of the busy count in the window (0: none).
  double busy_samples = 0;
  // First and last sample of the declaration in the window (Unix seconds).
  std::optional<double> first_sample_unix, last_sample_unix;
};

struct TargetEvidence {
  std::string target;
  std::optional<int64_t> max_connections, reserved, usable;
  std::optional<double> near_limit_threshold;
  std::optional<int64_t> overhead;
  std::optional<double> peak_window_seconds;
  // Coverage: the first and last pgconn_up sample in the window, the share
  // of those samples that say the poll succeeded, and the share of the
  // agent's scrapes that succeeded (Prometheus' up).
  std::optional<double> first_sample_unix, last_sample_unix;
  std::optional<double> up_ratio, scrape_up_ratio;
  // pgconn_up samples in the window: with the first and last, the scrape
  // interval.
  double samples = 0;
  // The least-squares line of pgconn_used_connections over the window: its
  // slope (connections per second, deriv) and its value at the window's
  // end (predict_linear(..., 0)); the last value and the peak seen.
  std::optional<double> used_slope_per_second, used_line_at_end;
  std::optional<double> used_last, used_peak;
  std::vector<ApplicationEvidence> applications;  // by name
  std::vector<EvidenceQuery> queries;             // in the order they ran
};

struct EvidenceRequest {
  double end_unix = 0;
  double window_seconds = 0;
  std::vector<std::string> targets;  // empty: every target with pools
};

// "7d", "36h", "90s", "1h30m", "1500ms": a PromQL range duration for
// `seconds` (whole milliseconds).
std::string PromQLDuration(double seconds);

// The step of the subqueries that find the first and last sample of a
// series: fine enough to place them within a minute, coarse enough that a
// 30-day window is 43,200 steps. The first and last sample are known to
// within one step.
double SubqueryStepSeconds(double window_seconds);

// The targets whose agent exported declared pools in the window, by name.
Result<std::vector<std::string>> DiscoverTargets(PromQuerier& prometheus,
                                                 const EvidenceRequest& request,
                                                 EvidenceQuery* ran);

// Reads the evidence of one target. Errors: the server's (unreachable, an
// error answer) and a window not longer than the target's peak window (a
// peak from before the window would leak into it).
Result<TargetEvidence> ReadTargetEvidence(PromQuerier& prometheus,
                                          const std::string& target,
                                          const EvidenceRequest& request);

}  // namespace pgconn

#endif  // PGCONN_AGENT_PLAN_EVIDENCE_H_
