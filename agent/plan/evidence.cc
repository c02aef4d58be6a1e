#include "plan/evidence.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <string_view>
#include <vector>

namespace pgconn {
namespace {

constexpr char kDeclared[] = "pgconn_pool_declared_replicas";

// The parts, appended (a chain of + on temporaries trips GCC 12's false
// -Wrestrict at -O3, as in postgres/activity_scan.cc).
std::string Cat(std::initializer_list<std::string_view> parts) {
  size_t n = 0;
  for (std::string_view p : parts) n += p.size();
  std::string out;
  out.reserve(n);
  for (std::string_view p : parts) out.append(p);
  return out;
}

std::optional<int64_t> Whole(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return std::llround(*v);
}

// Runs queries for one target and remembers each.
class Reader {
 public:
  Reader(PromQuerier& prometheus, const EvidenceRequest& request,
         TargetEvidence* out)
      : prometheus_(prometheus), request_(request), out_(out) {}

  // A query whose answer is one number (or none).
  Status One(const std::string& quantity, const std::string& promql,
             std::optional<double>* value) {
    auto r = Run(quantity, promql);
    if (!r.ok()) return r.status();
    *value = std::nullopt;
    for (const PromSample& s : *r) {
      if (std::isfinite(s.value)) *value = s.value;
    }
    return Status::Ok();
  }

  // A query answered per application.
  Status PerApplication(const std::string& quantity, const std::string& promql,
                        std::map<std::string, double>* values) {
    auto r = Run(quantity, promql);
    if (!r.ok()) return r.status();
    for (const PromSample& s : *r) {
      auto it = s.labels.find("application");
      if (it == s.labels.end() || !std::isfinite(s.value)) continue;
      (*values)[it->second] = s.value;
    }
    return Status::Ok();
  }

 private:
  Result<std::vector<PromSample>> Run(const std::string& quantity,
                                      const std::string& promql) {
    out_->queries.push_back({quantity, promql});
    return prometheus_.Query(promql, request_.end_unix);
  }

  PromQuerier& prometheus_;
  const EvidenceRequest& request_;
  TargetEvidence* out_;
};

}  // namespace

double SubqueryStepSeconds(double window_seconds) {
  return std::clamp(std::ceil(window_seconds / 2000), 1.0, 60.0);
}

std::string PromQLDuration(double seconds) {
  int64_t ms = std::llround(seconds * 1000);
  if (ms <= 0) return "0s";
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  std::string out;
  const std::pair<int64_t, const char*> units[] = {
      {86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (const auto& [size, unit] : units) {
    if (s >= size) {
      out += std::to_string(s / size) + unit;
      s %= size;
    }
  }
  return out;
}

Result<std::vector<std::string>> DiscoverTargets(PromQuerier& prometheus,
                                                 const EvidenceRequest& request,
                                                 EvidenceQuery* ran) {
  ran->quantity = "targets";
  ran->promql = Cat({"count by (target) (last_over_time(", kDeclared, "[",
                     PromQLDuration(request.window_seconds), "]))"});
  auto r = prometheus.Query(ran->promql, request.end_unix);
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (const PromSample& s : *r) {
    auto it = s.labels.find("target");
    if (it != s.labels.end()) out.push_back(it->second);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// The selector and the ranges of one target's queries.
struct Ranges {
  std::string sel;  // {target="..."}
  std::string w;    // [window]
  std::string sub;  // [window:step]: a subquery, for timestamps
  std::string pw;   // [window - peak window]: see ReadPeakWindow
};

Ranges TargetRanges(const std::string& target, double window_seconds) {
  Ranges r;
  r.sel = Cat({"{target=", PromQLString(target), "}"});
  r.w = Cat({"[", PromQLDuration(window_seconds), "]"});
  const std::string step = PromQLDuration(SubqueryStepSeconds(window_seconds));
  r.sub = Cat({"[", PromQLDuration(window_seconds), ":", step, "]"});
  r.pw = r.w;
  return r;
}

// The peak window first: it decides the range of the peak queries.
Status ReadPeakWindow(Reader& q, const std::string& target,
                      const EvidenceRequest& request, Ranges& r,
                      TargetEvidence& out) {
  if (Status s = q.One("peak_window_seconds",
                       Cat({"max(max_over_time(pgconn_peak_window_seconds",
                            r.sel, r.w, "))"}),
                       &out.peak_window_seconds);
      !s.ok()) {
    return s;
  }
  const double peak_window = out.peak_window_seconds.value_or(0);
  if (out.peak_window_seconds && request.window_seconds <= peak_window) {
    return Status::InvalidArgument(
        Cat({"--window=", PromQLDuration(request.window_seconds),
             " is not longer than the peak window of target ", target, " (",
             PromQLDuration(peak_window),
             ", pgconn_peak_window_seconds): give a longer window"}));
  }
  // The agent's peak gauge at time t covers (t - peak_window, t]: over the
  // samples of (end - window + peak_window, end] it covers (end - window,
  // end] exactly, and no older peak leaks in.
  r.pw = Cat({"[", PromQLDuration(request.window_seconds - peak_window), "]"});
  return Status::Ok();
}

// The target's numbers: one query each.
Status ReadTargetNumbers(Reader& q, const Ranges& r, TargetEvidence& out) {
  const std::string& sel = r.sel;
  const std::string& w = r.w;
  auto last = [&](const std::string& metric) {
    return Cat({"max(last_over_time(", metric, sel, w, "))"});
  };
  struct Scalar {
    const char* quantity;
    std::string promql;
    std::optional<double>* into;
  };
  std::optional<double> max_connections, reserved, usable, overhead, samples;
  const Scalar scalars[] = {
      {"usable_connections", last("pgconn_usable_connections"), &usable},
      {"max_connections", last("pgconn_max_connections"), &max_connections},
      {"reserved_connections", last("pgconn_reserved_connections"), &reserved},
      {"near_limit_threshold_ratio", last("pgconn_near_limit_threshold_ratio"),
       &out.near_limit_threshold},
      {"overhead_connections", last("pgconn_pool_overhead_connections"),
       &overhead},
      {"first_sample",
       Cat({"min(min_over_time(timestamp(pgconn_up", sel, ")", r.sub, "))"}),
       &out.first_sample_unix},
      {"last_sample",
       Cat({"max(max_over_time(timestamp(pgconn_up", sel, ")", r.sub, "))"}),
       &out.last_sample_unix},
      {"up_ratio", Cat({"avg(avg_over_time(pgconn_up", sel, w, "))"}),
       &out.up_ratio},
      {"samples", Cat({"max(count_over_time(pgconn_up", sel, w, "))"}),
       &samples},
      {"scrape_up_ratio",
       Cat({"avg(avg_over_time(up", w,
            ") and on(job, instance) group by (job, instance) "
            "(last_over_time(pgconn_up",
            sel, w, ")))"}),
       &out.scrape_up_ratio},
      {"used_slope_per_second",
       Cat({"max(deriv(pgconn_used_connections", sel, w, "))"}),
       &out.used_slope_per_second},
      {"used_line_at_end",
       Cat({"max(predict_linear(pgconn_used_connections", sel, w, ", 0))"}),
       &out.used_line_at_end},
      {"used_last", last("pgconn_used_connections"), &out.used_last},
      {"used_peak",
       Cat({"max(max_over_time(pgconn_used_connections_peak", sel, r.pw, "))"}),
       &out.used_peak},
  };
  for (const Scalar& x : scalars) {
    if (Status s = q.One(x.quantity, x.promql, x.into); !s.ok()) return s;
  }
  out.max_connections = Whole(max_connections);
  out.reserved = Whole(reserved);
  out.usable = Whole(usable);
  out.overhead = Whole(overhead);
  out.samples = samples.value_or(0);
  return Status::Ok();
}

// One query answered per application.
struct PerApp {
  const char* quantity;
  std::string promql;
  std::map<std::string, double> values;
};

// The per-application queries, in the order ReadApplications reads them.
std::vector<PerApp> ApplicationQueries(const Ranges& r) {
  const std::string& sel = r.sel;
  const std::string& w = r.w;
  const std::string by = "max by (application) (";
  return {
      {"replicas", Cat({by, "last_over_time(", kDeclared, sel, w, "))"}), {}},
      {"replicas_min",
       Cat({"min by (application) (min_over_time(", kDeclared, sel, w, "))"}),
       {}},
      {"replicas_max",
       Cat({by, "max_over_time(", kDeclared, sel, w, "))"}),
       {}},
      {"pool_max",
       Cat({by, "last_over_time(pgconn_pool_declared_worker_max_connections",
            sel, w, "))"}),
       {}},
      {"pool_min",
       Cat({by, "last_over_time(pgconn_pool_declared_worker_min_connections",
            sel, w, "))"}),
       {}},
      {"busy_peak_connections",
       Cat({by, "max_over_time(pgconn_pool_busy_peak_connections", sel, r.pw,
            "))"}),
       {}},
      {"busy_median_connections",
       Cat({by, "quantile_over_time(0.5, pgconn_pool_busy_connections", sel, w,
            "))"}),
       {}},
      {"saturated_seconds",
       Cat({by, "increase(pgconn_pool_saturated_seconds_total", sel, w, "))"}),
       {}},
      {"busy_samples",
       Cat({by, "count_over_time(pgconn_pool_busy_connections", sel, w, "))"}),
       {}},
      {"application_first_sample",
       Cat({"min by (application) (min_over_time(timestamp(", kDeclared, sel,
            ")", r.sub, "))"}),
       {}},
      {"application_last_sample",
       Cat({by, "max_over_time(timestamp(", kDeclared, sel, ")", r.sub, "))"}),
       {}},
  };
}

// Each declared application's evidence, in the order of its name.
Status ReadApplications(Reader& q, const Ranges& r, TargetEvidence& out) {
  std::vector<PerApp> apps = ApplicationQueries(r);
  for (PerApp& a : apps) {
    if (Status s = q.PerApplication(a.quantity, a.promql, &a.values); !s.ok()) {
      return s;
    }
  }
  auto get = [](const PerApp& a,
                const std::string& app) -> std::optional<double> {
    auto it = a.values.find(app);
    if (it == a.values.end()) return std::nullopt;
    return it->second;
  };
  for (const auto& [app, replicas] : apps[0].values) {
    ApplicationEvidence e;
    e.application = app;
    e.replicas = Whole(replicas);
    e.replicas_min = Whole(get(apps[1], app));
    e.replicas_max = Whole(get(apps[2], app));
    e.pool_max = Whole(get(apps[3], app));
    e.pool_min = Whole(get(apps[4], app));
    e.busy_peak = get(apps[5], app);
    e.busy_median = get(apps[6], app);
    e.saturated_seconds = get(apps[7], app);
    e.busy_samples = get(apps[8], app).value_or(0);
    e.first_sample_unix = get(apps[9], app);
    e.last_sample_unix = get(apps[10], app);
    out.applications.push_back(std::move(e));
  }
  return Status::Ok();
}

}  // namespace

Result<TargetEvidence> ReadTargetEvidence(PromQuerier& prometheus,
                                          const std::string& target,
                                          const EvidenceRequest& request) {
  TargetEvidence out;
  out.target = target;
  Reader q(prometheus, request, &out);
  Ranges r = TargetRanges(target, request.window_seconds);
  if (Status s = ReadPeakWindow(q, target, request, r, out); !s.ok()) return s;
  if (Status s = ReadTargetNumbers(q, r, out); !s.ok()) return s;
  if (Status s = ReadApplications(q, r, out); !s.ok()) return s;
  return out;
}

}  // namespace pgconn
