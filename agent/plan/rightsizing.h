// The right-sizing rule of `plan --from-prometheus` (docs/planner.md,
// "Right-sizing from Prometheus"), as pure functions of the evidence:
//
//   recommended_pool_max = max(1, ceil(busy_peak / replicas × (1 + margin)))
//   when the pools were saturated in the window the peak is censored (the
//   workers wanted more than they got), so instead
//   recommended_pool_max = max(pool_max + 1, ceil(pool_max × (1 + margin)))
//   recommended_pool_min = min(recommended_pool_max,
//                              ceil(busy_median / replicas))
//
// then the budget with the recommendations applied through the planner's
// arithmetic (usable slots, the headroom line, the agent's own slot).
// Too little history never lowers a pool: the recommendation is held at
// the declared value and the reason said.
#ifndef PGCONN_AGENT_PLAN_RIGHTSIZING_H_
#define PGCONN_AGENT_PLAN_RIGHTSIZING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plan/evidence.h"
#include "plan/planner.h"
#include "pools/budget.h"

namespace pgconn {

// Below this share of successful polls (pgconn_up) or scrapes (up), or of
// the window covered by samples, the history is too short to lower a pool.
inline constexpr double kMinCoverageRatio = 0.9;
inline constexpr double kDefaultMargin = 0.25;

// The rule for one application with replicas > 0; sizes are per worker.
struct PoolRuleInput {
  int64_t replicas = 1;
  int64_t pool_max = 1;
  int64_t pool_min = 0;
  double busy_peak = 0;               // over the window, all replicas together
  std::optional<double> busy_median;  // none: pool_min is kept (capped)
  bool saturated = false;
  double margin = kDefaultMargin;  // in [0, 10]
};
struct PoolRuleResult {
  int64_t pool_max = 1;
  int64_t pool_min = 0;
};
// Exact in parts per million: a peak of 10 with a margin of 0.1 is 11, not
// 12 (10 × 1.1 is 11.000000000000002 in binary floating point).
PoolRuleResult ApplyPoolRule(const PoolRuleInput& in);

enum class SizingState {
  kSized,         // the rule applied
  kZeroReplicas,  // scaled to zero: listed, skipped
  kNoSamples,     // no busy samples in the window: the declaration is kept
};
std::string_view SizingStateName(SizingState s);  // "sized", ...

struct ApplicationRightSizing {
  ApplicationEvidence evidence;
  int64_t replicas = 0, pool_max = 0, pool_min = 0;  // declared at the end
  SizingState state = SizingState::kSized;
  bool saturated = false;
  double saturated_seconds = 0;
  // What the rule gives (kSized only).
  std::optional<PoolRuleResult> rule;
  // What is recommended and applied to the budget: the rule's, but never
  // lower than declared while the evidence is incomplete; the declaration
  // where the rule does not apply.
  int64_t recommended_pool_max = 0, recommended_pool_min = 0;
  bool held_back = false;  // the rule would lower, the evidence is short
  std::vector<std::string> insufficient;  // this application's reasons
  std::vector<std::string> notes;
};

struct RightSizingSettings {
  double end_unix = 0;
  double window_seconds = 0;
  double margin = kDefaultMargin;
  std::optional<double> headroom;  // --headroom; else the agent's threshold
  int64_t monitoring_agents = 1;
  std::optional<int64_t> overhead;  // --overhead; else the declared one
  std::optional<int64_t> max_connections, reserved;  // "what if" overrides
  int64_t memory_per_connection_bytes = kDefaultMemoryPerConnection;
  std::optional<int64_t> pgbouncer_pool_size;  // else from the busy peaks
  int64_t pgbouncer_max_client_conn = kGuidePgBouncerMaxClientConn;
};

// The largest DB_POOL_MAX of one application that fits the headroom with
// the others as recommended.
struct ReducePoolOption {
  std::string application;
  std::optional<int64_t> pool_max;  // none: not even 1 fits
  double busy_peak_per_worker = 0;  // below it, workers would wait
};

struct TargetRightSizing {
  TargetEvidence evidence;
  int64_t max_connections = 0, reserved = 0, usable = 0;
  double headroom = kDefaultHeadroom;
  int64_t overhead = 0, monitoring_agents = 1;
  int64_t headroom_connections = 0;
  int64_t declared_total = 0, recommended_total = 0;
  Verdict declared_verdict = Verdict::kOk, verdict = Verdict::kOk;
  bool evidence_complete = true;
  std::vector<std::string> insufficient;  // the target's reasons
  // Seconds from the window's end until the least-squares line of used
  // connections reaches usable; none when the slope is <= 0.
  std::optional<double> exhaustion_eta_seconds;
  // PgBouncer's default_pool_size for these workers: the summed busy peaks
  // with the margin (or --pgbouncer-pool-size).
  int64_t pgbouncer_pool_size = 0;
  // The planner's options for the recommended budget, when it does not fit.
  std::optional<Plan> options;
  std::vector<ReducePoolOption> reduce;
  std::vector<ApplicationRightSizing> applications;
  std::vector<std::string> notes;
};

// The assessment of one target. Fails (bad input) when the window holds no
// limits of the target, or an override is out of range.
Result<TargetRightSizing> AssessTarget(const TargetEvidence& evidence,
                                       const RightSizingSettings& settings);

}  // namespace pgconn

#endif  // PGCONN_AGENT_PLAN_RIGHTSIZING_H_
