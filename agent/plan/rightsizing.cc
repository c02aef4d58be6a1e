#include "plan/rightsizing.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "plan/time_text.h"

namespace pgconn {
namespace {

// ceil(a / b) for a >= 0, b > 0.
int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t ToPpm(double v) { return std::llround(v * kPpm); }

std::string Percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %%", ratio * 100);
  return buf;
}

// The reasons the target's history is too short to lower a pool.
std::vector<std::string> TargetCoverage(const TargetEvidence& e,
                                        const RightSizingSettings& s,
                                        double tolerance) {
  std::vector<std::string> out;
  const double start = s.end_unix - s.window_seconds;
  if (!e.first_sample_unix) {
    out.push_back("no sample of pgconn_up in the window");
    return out;
  }
  if (*e.first_sample_unix > start + tolerance) {
    out.push_back("the history starts at " +
                  FormatRfc3339(*e.first_sample_unix) + ", " +
                  HumanDuration(*e.first_sample_unix - start) +
                  " after the window's start (the window is longer than the "
                  "data)");
  }
  if (e.last_sample_unix && *e.last_sample_unix < s.end_unix - tolerance) {
    out.push_back("the last sample is at " +
                  FormatRfc3339(*e.last_sample_unix) + ", " +
                  HumanDuration(s.end_unix - *e.last_sample_unix) +
                  " before the window's end");
  }
  if (e.up_ratio && *e.up_ratio < kMinCoverageRatio) {
    out.push_back("the agent polled the target successfully in only " +
                  Percent(*e.up_ratio) +
                  " of the scraped samples (pgconn_up): it was down for much "
                  "of the window");
  }
  if (e.scrape_up_ratio && *e.scrape_up_ratio < kMinCoverageRatio) {
    out.push_back("Prometheus scraped the agent successfully only " +
                  Percent(*e.scrape_up_ratio) + " of the time (up)");
  }
  return out;
}

}  // namespace

std::string_view SizingStateName(SizingState s) {
  switch (s) {
    case SizingState::kSized:
      return "sized";
    case SizingState::kZeroReplicas:
      return "zero_replicas";
    case SizingState::kNoSamples:
      return "no_samples";
  }
  return "sized";
}

PoolRuleResult ApplyPoolRule(const PoolRuleInput& in) {
  const int64_t factor_ppm = kPpm + ToPpm(in.margin);  // 1 + margin
  const int64_t replicas = std::max<int64_t>(in.replicas, 1);
  PoolRuleResult r;
  if (in.saturated) {
    // The peak is censored at the capacity: grow by the margin, at least 1.
    r.pool_max = std::max(
        in.pool_max + 1, CeilDiv(SaturatingMul(in.pool_max, factor_ppm), kPpm));
  } else {
    const int64_t peak = std::max<int64_t>(std::llround(in.busy_peak), 0);
    r.pool_max = std::max<int64_t>(
        1, CeilDiv(SaturatingMul(peak, factor_ppm), replicas * kPpm));
  }
  if (in.busy_median) {
    const int64_t median_ppm = std::max<int64_t>(ToPpm(*in.busy_median), 0);
    r.pool_min = std::min(r.pool_max, CeilDiv(median_ppm, replicas * kPpm));
  } else {
    r.pool_min = std::min(r.pool_max, in.pool_min);
  }
  return r;
}

namespace {

// The target's limits: the flags where given, else what the agent
// exported; an error where max_connections is known from neither.
Status TargetLimits(const TargetEvidence& e, const RightSizingSettings& s,
                    TargetRightSizing& t) {
  if (!s.max_connections && !e.max_connections) {
    return Status::InvalidArgument(
        "target " + e.target +
        ": no pgconn_max_connections in the window (the agent never "
        "polled it successfully); give --max-connections");
  }
  t.max_connections = s.max_connections.value_or(e.max_connections.value_or(0));
  t.reserved = s.reserved.value_or(
      e.reserved.value_or(kPostgresDefaultSuperuserReserved));
  t.usable = std::max<int64_t>(t.max_connections - t.reserved, 0);
  t.headroom =
      s.headroom.value_or(e.near_limit_threshold.value_or(kDefaultHeadroom));
  t.overhead = s.overhead.value_or(e.overhead.value_or(0));
  t.monitoring_agents = s.monitoring_agents;
  t.headroom_connections = HeadroomConnections(t.usable, t.headroom);
  return Status::Ok();
}

// How late the first sample and how early the last may be: 1 % of the
// window, and never less than two subquery steps or two scrape intervals
// (the data's own resolution).
double CoverageTolerance(const TargetEvidence& e,
                         const RightSizingSettings& s) {
  const double step = SubqueryStepSeconds(s.window_seconds);
  double scrape_interval = 0;
  if (e.samples > 1 && e.first_sample_unix && e.last_sample_unix) {
    scrape_interval =
        (*e.last_sample_unix - *e.first_sample_unix) / (e.samples - 1);
  }
  return std::max({s.window_seconds / 100, 2 * step, 2 * scrape_interval});
}

// What one application's evidence is missing for sizing: its state and
// the reason (target-level notes go to `notes`); true if it can be sized.
bool CanSize(const ApplicationEvidence& a, ApplicationRightSizing& r,
             std::vector<std::string>& notes) {
  if (r.replicas == 0) {
    r.state = SizingState::kZeroReplicas;
    r.notes.push_back("0 replicas: listed, not sized");
    return false;
  }
  if (!a.pool_max || *a.pool_max <= 0) {
    // An agent older than pgconn_pool_declared_worker_max_connections:
    // without DB_POOL_MAX there is neither capacity nor rule.
    r.state = SizingState::kNoSamples;
    r.insufficient.push_back(
        "no pgconn_pool_declared_worker_max_connections in the window (an "
        "older agent): the declared pool is kept");
    notes.push_back("application " + a.application +
                    ": DB_POOL_MAX unknown, so the budget counts none of "
                    "its connections; upgrade the agent");
    return false;
  }
  if (a.busy_samples <= 0 || !a.busy_peak) {
    r.state = SizingState::kNoSamples;
    r.insufficient.push_back(
        "no sample of its busy connections in the window: the declared "
        "pool is kept");
    return false;
  }
  return true;
}

// The pool rule on one application's busy peak and median; never lower
// than declared where the evidence is short (`target_short`, or its own).
void SizeApplication(const ApplicationEvidence& a, double margin,
                     bool target_short, ApplicationRightSizing& r) {
  r.saturated = r.saturated_seconds > 0 ||
                *a.busy_peak >= static_cast<double>(r.replicas * r.pool_max);
  PoolRuleInput in;
  in.replicas = r.replicas;
  in.pool_max = r.pool_max;
  in.pool_min = r.pool_min;
  in.busy_peak = *a.busy_peak;
  in.busy_median = a.busy_median;
  in.saturated = r.saturated;
  in.margin = margin;
  r.rule = ApplyPoolRule(in);
  r.recommended_pool_max = r.rule->pool_max;
  r.recommended_pool_min = r.rule->pool_min;
  if (!a.busy_median) {
    r.notes.push_back("no busy median in the window: DB_POOL_MIN kept");
  }
  if (target_short || !r.insufficient.empty()) {
    if (r.recommended_pool_max < r.pool_max ||
        r.recommended_pool_min < r.pool_min) {
      r.held_back = true;
    }
    r.recommended_pool_max = std::max(r.recommended_pool_max, r.pool_max);
    r.recommended_pool_min = std::max(r.recommended_pool_min, r.pool_min);
  }
}

// One declared application: null where it was declared earlier in the
// window and is not any more (a note on `t` says so).
std::optional<ApplicationRightSizing> AssessApplication(
    const ApplicationEvidence& a, const TargetEvidence& e,
    const RightSizingSettings& s, double tolerance, TargetRightSizing& t) {
  ApplicationRightSizing r;
  r.evidence = a;
  r.replicas = a.replicas.value_or(0);
  r.pool_max = a.pool_max.value_or(0);
  r.pool_min = a.pool_min.value_or(0);
  r.saturated_seconds = std::max(a.saturated_seconds.value_or(0), 0.0);
  r.recommended_pool_max = r.pool_max;
  r.recommended_pool_min = r.pool_min;
  if (a.last_sample_unix && e.last_sample_unix &&
      *a.last_sample_unix < *e.last_sample_unix - tolerance) {
    t.notes.push_back("application " + a.application + " was declared until " +
                      FormatRfc3339(*a.last_sample_unix) +
                      " only; it is left out");
    return std::nullopt;
  }
  if (a.replicas_min && a.replicas_max && *a.replicas_min != *a.replicas_max) {
    r.notes.push_back("replicas changed within the window (" +
                      std::to_string(*a.replicas_min) + " to " +
                      std::to_string(*a.replicas_max) +
                      "); the peak is divided by the current " +
                      std::to_string(r.replicas));
  }
  if (!CanSize(a, r, t.notes)) return r;
  const double start = s.end_unix - s.window_seconds;
  if (a.first_sample_unix && *a.first_sample_unix > start + tolerance) {
    r.insufficient.push_back("declared only since " +
                             FormatRfc3339(*a.first_sample_unix));
  }
  SizeApplication(a, s.margin, !t.insufficient.empty(), r);
  return r;
}

// The declared and recommended totals (workers × DB_POOL_MAX, plus the
// overhead and the monitoring agents) and their verdicts.
void SumTotals(TargetRightSizing& t) {
  t.evidence_complete = t.insufficient.empty();
  const int64_t fixed = t.overhead + t.monitoring_agents;
  int64_t declared_workers = 0, recommended_workers = 0;
  for (const ApplicationRightSizing& a : t.applications) {
    if (!a.insufficient.empty()) t.evidence_complete = false;
    declared_workers += a.replicas * a.pool_max;
    recommended_workers += a.replicas * a.recommended_pool_max;
  }
  t.declared_total = declared_workers + fixed;
  t.recommended_total = recommended_workers + fixed;
  t.declared_verdict = ClassifyTotal(t.declared_total, t.usable, t.headroom);
  t.verdict = ClassifyTotal(t.recommended_total, t.usable, t.headroom);
}

// PgBouncer's pool_size: the sum of the sized applications' busy peaks,
// plus the margin, unless given.
int64_t PgbouncerPoolSize(const TargetRightSizing& t,
                          const RightSizingSettings& s) {
  double summed_peaks = 0;
  for (const ApplicationRightSizing& a : t.applications) {
    if (a.rule) summed_peaks += a.evidence.busy_peak.value_or(0);
  }
  const int64_t factor_ppm = kPpm + ToPpm(s.margin);
  return s.pgbouncer_pool_size.value_or(std::max<int64_t>(
      1, CeilDiv(SaturatingMul(std::llround(summed_peaks), factor_ppm), kPpm)));
}

// Where even the recommended pools do not fit: the planner's options for
// the recommended workers as one pool, and per application the
// DB_POOL_MAX that would fit under the headroom line.
void AddOptions(const RightSizingSettings& s, TargetRightSizing& t) {
  const int64_t recommended_workers =
      t.recommended_total - t.overhead - t.monitoring_agents;
  if (t.verdict == Verdict::kOk || recommended_workers <= 0) return;
  PlanInput p;
  p.workers = 1;
  p.pool_max = recommended_workers;
  p.pool_min = 0;
  p.overhead = t.overhead;
  p.monitoring_agents = t.monitoring_agents;
  p.max_connections = t.max_connections;
  p.reserved = t.reserved;
  p.headroom = t.headroom;
  p.memory_per_connection_bytes = s.memory_per_connection_bytes;
  p.pgbouncer_pool_size = t.pgbouncer_pool_size;
  p.pgbouncer_max_client_conn = s.pgbouncer_max_client_conn;
  if (auto plan = MakePlan(p); plan.ok()) {
    t.options = std::move(*plan);
  } else {
    t.notes.push_back("no planner options: " + plan.status().message());
  }
  for (const ApplicationRightSizing& a : t.applications) {
    if (a.replicas <= 0 || a.state != SizingState::kSized) continue;
    ReducePoolOption o;
    o.application = a.evidence.application;
    const int64_t others =
        t.recommended_total - a.replicas * a.recommended_pool_max;
    const int64_t room = t.headroom_connections - others;
    if (room >= a.replicas) o.pool_max = room / a.replicas;
    o.busy_peak_per_worker =
        a.evidence.busy_peak.value_or(0) / static_cast<double>(a.replicas);
    t.reduce.push_back(std::move(o));
  }
}

}  // namespace

Result<TargetRightSizing> AssessTarget(const TargetEvidence& e,
                                       const RightSizingSettings& s) {
  TargetRightSizing t;
  t.evidence = e;
  if (Status limits = TargetLimits(e, s, t); !limits.ok()) return limits;
  const double tolerance = CoverageTolerance(e, s);
  t.insufficient = TargetCoverage(e, s, tolerance);
  for (const ApplicationEvidence& a : e.applications) {
    if (auto r = AssessApplication(a, e, s, tolerance, t)) {
      t.applications.push_back(std::move(*r));
    }
  }
  SumTotals(t);
  if (e.used_slope_per_second && *e.used_slope_per_second > 0 &&
      e.used_line_at_end) {
    t.exhaustion_eta_seconds =
        std::max(0.0, (static_cast<double>(t.usable) - *e.used_line_at_end) /
                          *e.used_slope_per_second);
  }
  t.pgbouncer_pool_size = PgbouncerPoolSize(t, s);
  AddOptions(s, t);
  return t;
}

}  // namespace pgconn
