// The status page's JSON (/api/v1/status) and the page itself: the static
// files embedded at build time (status_page_assets.h) that render it.
#include <algorithm>

#include "runtime/status_page.h"
#include "runtime/status_page_assets.h"
#include "util/json_writer.h"

namespace pgconn {
namespace {

// The chart's time buckets: an hour in at most 360 points (the highest
// sample of each 10 s), so that the page draws little whatever the poll
// interval; the JSON has every sample too.
constexpr int64_t kChartBucketMs = 10'000;

void Optional(JsonWriter& w, const std::optional<double>& v) {
  if (v) {
    w.Double(*v);
  } else {
    w.Null();
  }
}

void ConnectionsJson(JsonWriter& w, const ConnectionStatus& c) {
  w.BeginObject();
  w.Key("max_connections").Int(c.max_connections);
  w.Key("reserved_connections").Int(c.reserved);
  w.Key("usable_connections").Int(c.usable);
  w.Key("used_connections").Int(c.used);
  w.Key("available_connections").Int(c.available);
  w.Key("utilization_ratio").Double(c.utilization);
  w.Key("near_limit_threshold_ratio").Double(c.near_limit_threshold);
  w.Key("headroom_connections").Double(c.headroom_connections);
  w.Key("idle_ratio").Double(c.idle_ratio);
  w.Key("oldest_idle_in_transaction_seconds")
      .Double(c.oldest_idle_in_transaction_seconds);
  w.Key("lock_waiting_connections").Int(c.lock_waiting);
  w.Key("states").BeginObject();
  for (const auto& [state, n] : c.states) w.Key(state).Int(n);
  w.EndObject();
  w.Key("applications").BeginArray();
  for (const ApplicationStatus& a : c.applications) {
    w.BeginObject();
    w.Key("application").String(a.application);
    w.Key("connections").Int(a.connections);
    w.Key("states").BeginObject();
    for (const auto& [state, n] : a.states) w.Key(state).Int(n);
    w.EndObject();
    w.Key("oldest_idle_in_transaction_seconds")
        .Double(a.oldest_idle_in_transaction_seconds);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

// The peaks over the window (pgconn_used_connections_peak,
// pgconn_utilization_peak_ratio); null where the peak stage did not run.
void PeakJson(JsonWriter& w, const std::optional<ConnectionStatus>& c) {
  const bool known = c && c->peak_used;
  w.BeginObject();
  w.Key("window_seconds");
  Optional(
      w, known ? std::optional<double>(c->peak_window_seconds) : std::nullopt);
  w.Key("used_connections");
  Optional(w, known ? c->peak_used : std::nullopt);
  w.Key("utilization_ratio");
  Optional(w, known ? c->peak_utilization : std::nullopt);
  w.EndObject();
}

void PoolsJson(JsonWriter& w, const PoolBudgetStatus& p) {
  w.BeginObject();
  w.Key("budget_connections").Int(p.budget);
  w.Key("declared_max_connections").Int(p.declared_max_total);
  w.Key("overhead_connections").Int(p.overhead);
  w.Key("budget_ratio");
  Optional(w, p.budget_ratio);
  w.Key("overcommitted");
  if (p.overcommitted) {
    w.Bool(*p.overcommitted);
  } else {
    w.Null();
  }
  w.Key("monitoring_agents").Int(p.monitoring_agents);
  w.Key("declared").BeginArray();
  for (const DeclaredPoolStatus& d : p.declared) {
    w.BeginObject();
    w.Key("application").String(d.application);
    w.Key("replicas").Int(d.replicas);
    w.Key("declared_max_connections").Int(d.declared_max);
    w.Key("connections").Int(d.connections);
    w.Key("excess_connections").Int(d.excess);
    w.Key("pool_max").Int(d.pool_max);
    w.Key("pool_min").Int(d.pool_min);
    w.Key("busy_connections").Int(d.busy);
    w.Key("busy_peak_connections").Double(d.busy_peak);
    w.Key("saturated_seconds_total").Double(d.saturated_seconds);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void BouncerJson(JsonWriter& w, const BouncerStatus& b) {
  w.BeginObject();
  w.Key("waiting_clients").Int(b.waiting_clients);
  w.Key("logical_connections").Int(b.logical_connections);
  w.Key("physical_connections").Int(b.physical_connections);
  w.Key("client_utilization_ratio");
  Optional(w, b.client_utilization);
  w.Key("pools").BeginArray();
  for (const BouncerPoolStatus& p : b.pools) {
    w.BeginObject();
    w.Key("database").String(p.database);
    w.Key("user").String(p.user);
    w.Key("waiting_clients").Int(p.waiting_clients);
    w.Key("max_wait_seconds").Double(p.max_wait_seconds);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

// The runs of the chart the page draws: the highest sample of each 10 s
// bucket (aligned to the clock, so that the points stay put from one
// refresh to the next), a new run after a gap of more than three poll
// intervals (a failed poll, a restart).
std::vector<std::vector<UsedSample>> ChartRuns(const UsedHistoryStatus& h) {
  const int64_t gap = std::max<int64_t>(
      static_cast<int64_t>(3000 * h.poll_interval_seconds), 2500);
  std::vector<std::vector<UsedSample>> runs;
  int64_t previous = 0;
  int64_t bucket = -1;
  for (const UsedSample& s : h.samples) {
    if (runs.empty() || s.unix_ms - previous > gap) {
      runs.emplace_back();
      bucket = -1;
    }
    std::vector<UsedSample>& run = runs.back();
    const int64_t b = s.unix_ms / kChartBucketMs;
    if (b != bucket) {
      run.push_back(s);
      bucket = b;
    } else if (s.used >= run.back().used) {
      run.back() = s;
    }
    previous = s.unix_ms;
  }
  return runs;
}

void SampleJson(JsonWriter& w, const UsedSample& s) {
  w.BeginArray().Int(s.unix_ms).Int(s.used).EndArray();
}

void UsedHistoryJson(JsonWriter& w, const UsedHistoryStatus& h) {
  w.BeginObject();
  w.Key("poll_interval_seconds").Double(h.poll_interval_seconds);
  w.Key("span_seconds").Int(kUsedHistorySpanMs / 1000);
  w.Key("samples").BeginArray();
  for (const UsedSample& s : h.samples) SampleJson(w, s);
  w.EndArray();
  // The hour's highest sample (the latest of equals), null before a poll.
  w.Key("highest");
  if (h.samples.empty()) {
    w.Null();
  } else {
    const UsedSample* highest = &h.samples.front();
    for (const UsedSample& s : h.samples) {
      if (s.used >= highest->used) highest = &s;
    }
    SampleJson(w, *highest);
  }
  w.Key("chart").BeginArray();
  for (const std::vector<UsedSample>& run : ChartRuns(h)) {
    w.BeginArray();
    for (const UsedSample& s : run) SampleJson(w, s);
    w.EndArray();
  }
  w.EndArray();
  w.EndObject();
}

void WarningsJson(JsonWriter& w, const std::vector<WarningSign>& warnings) {
  w.BeginArray();
  for (const WarningSign& ws : warnings) {
    w.BeginObject();
    w.Key("alert").String(ws.alert);
    w.Key("severity").String(ws.severity);
    w.Key("summary").String(ws.summary);
    w.Key("advice").String(ws.advice);
    w.Key("runbook_url")
        .String(std::string(kRunbookBaseUrl) + ws.alert + ".md");
    w.EndObject();
  }
  w.EndArray();
}

// `render` of `*value` where there is one, null where not.
template <typename T, typename Render>
void OrNull(JsonWriter& w, const std::optional<T>& value, Render render) {
  if (value) {
    render(w, *value);
  } else {
    w.Null();
  }
}

void TargetJson(JsonWriter& w, const TargetStatus& t) {
  w.BeginObject();
  w.Key("target").String(t.name);
  w.Key("kind").String(t.kind);
  w.Key("up").Bool(t.up);
  w.Key("polled").Bool(t.polled);
  w.Key("last_success_timestamp_seconds").Double(t.last_success_unix);
  w.Key("connections");
  OrNull(w, t.connections, ConnectionsJson);
  w.Key("peak");
  PeakJson(w, t.connections);
  w.Key("pools");
  OrNull(w, t.pools, PoolsJson);
  w.Key("pgbouncer");
  OrNull(w, t.pgbouncer, BouncerJson);
  w.Key("used_history");
  OrNull(w, t.history, UsedHistoryJson);
  w.Key("warnings");
  WarningsJson(w, t.warnings);
  w.EndObject();
}

}  // namespace

std::string RenderStatusJson(const StatusModel& model, int refresh_seconds) {
  JsonWriter w;
  w.BeginObject();
  w.Key("refresh_seconds").Int(std::max(refresh_seconds, 1));
  w.Key("targets").BeginArray();
  for (const TargetStatus& t : model.targets) TargetJson(w, t);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::vector<StatusPage::Asset> StatusPageAssets() {
  return {{"/", "text/html; charset=utf-8", StatusPageHtml()},
          {"/status.css", "text/css; charset=utf-8", StatusPageStyle()},
          {"/status.js", "text/javascript; charset=utf-8", StatusPageScript()}};
}

std::shared_ptr<const StatusPage> BuildStatusPage(
    const std::vector<TargetReport>& reports, int refresh_seconds) {
  return std::make_shared<const StatusPage>(
      StatusPageAssets(),
      RenderStatusJson(BuildStatusModel(reports), refresh_seconds));
}

}  // namespace pgconn
