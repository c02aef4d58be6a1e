#include "runtime/status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <utility>

#include "pgbouncer/pgbouncer.h"
#include "pools/pool_signals.h"
#include "postgres/observations.h"
#include "postgres/peak_stage.h"
#include "postgres/signals.h"
#include "util/json_writer.h"

namespace pgconn {
namespace {

// The alerts' thresholds (alerts/*.yml), without their `for:` durations:
// the page shows what is true in the last poll.
constexpr double kCriticalUtilization = 0.9;
constexpr double kIdleRatioHigh = 0.8;
constexpr int64_t kIdleRatioMinUsed = 20;
constexpr double kIdleInTransactionWarning = 300;
constexpr double kIdleInTransactionCritical = 900;
constexpr int64_t kLockWaitingWarning = 5;
constexpr double kBouncerClientsNearLimit = 0.8;

// The pooling guide's advice, in its own terms (DB_POOL_MAX, DB_POOL_MIN).
constexpr char kAdviceTooManyClients[] =
    "PostgreSQL refuses new logins now. Reduce DB_POOL_MAX per worker, run "
    "fewer workers, raise max_connections, or put PgBouncer in front.";
constexpr char kAdviceNearLimit[] =
    "Near max_connections: time to scale down workers or increase the "
    "limit. Keep total connections under 80 % of the usable slots.";
constexpr char kAdviceIdle[] =
    "Many idle connections: consider reducing DB_POOL_MIN.";
constexpr char kAdviceIdleInTransaction[] =
    "A session holds a transaction open while doing nothing, with its locks. "
    "Find the application below and make it commit or roll back; "
    "idle_in_transaction_session_timeout bounds it.";
constexpr char kAdviceLocks[] =
    "Sessions wait on locks: optimize long-running queries and "
    "transactions that hold locks.";
constexpr char kAdviceBudget[] =
    "The declared pools (replicas x DB_POOL_MAX, plus overhead) do not fit "
    "under 80 % of the usable slots: lower DB_POOL_MAX, run fewer replicas, "
    "raise max_connections, or use PgBouncer. Count the non-worker "
    "connections too.";
constexpr char kAdviceExcess[] =
    "An application holds more connections than its declaration allows "
    "(replicas x DB_POOL_MAX): update the declaration, or look for a "
    "connection leak.";
constexpr char kAdviceWaiting[] =
    "Connection pool exhaustion: clients wait for a server connection. "
    "Increase the pool size (check the total connection limit), optimize "
    "long-running queries, or add workers with smaller pools.";
constexpr char kAdviceBouncerClients[] =
    "PgBouncer nears max_client_conn: the workers' pools together open too "
    "many client connections; lower DB_POOL_MAX or raise max_client_conn.";
constexpr char kAdviceDown[] =
    "The agent cannot poll this target: check that the server runs and is "
    "reachable, and the agent's credentials. The numbers shown are from "
    "the last successful poll.";

int SeverityRank(std::string_view s) {
  if (s == "critical") return 0;
  if (s == "warning") return 1;
  return 2;
}

std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string Percent(double ratio) { return Fixed(ratio * 100, 1) + " %"; }

std::string Seconds(double s) { return Fixed(s, 1) + " s"; }

ConnectionStatus Connections(const ConnectionLimits& limits,
                             const Activity& activity,
                             const ConnectionSignals* signals) {
  ConnectionStatus c;
  c.max_connections = limits.max_connections;
  c.reserved = ReservedConnections(limits);
  c.usable = UsableConnections(limits);
  if (signals != nullptr) {
    c.used = signals->used;
    c.available = signals->available;
    c.utilization = signals->utilization;
    c.near_limit_threshold = signals->near_limit_threshold;
  } else {
    c.used = activity.summary.used;
    c.available = std::max<int64_t>(c.usable - c.used, 0);
    c.utilization = c.usable > 0 ? static_cast<double>(c.used) / c.usable : 1;
  }
  c.headroom_connections = c.near_limit_threshold * c.usable;
  for (std::string_view s : kKnownStates) c.states[std::string(s)] = 0;
  std::map<std::string, ApplicationStatus> apps;
  for (const ActivityGroup& g : activity.groups) {
    c.states[g.state] += g.connections;
    ApplicationStatus& a = apps[g.application];
    a.application = g.application;
    a.connections += g.connections;
    if (g.connections > 0) a.states[g.state] += g.connections;
  }
  for (auto& [name, a] : apps) {
    auto it = activity.summary.applications.find(name);
    if (it != activity.summary.applications.end()) {
      a.oldest_idle_in_transaction_seconds =
          it->second.oldest_idle_in_transaction_seconds;
      c.oldest_idle_in_transaction_seconds =
          std::max(c.oldest_idle_in_transaction_seconds,
                   it->second.oldest_idle_in_transaction_seconds);
    }
    if (a.connections > 0) c.applications.push_back(std::move(a));
  }
  std::stable_sort(c.applications.begin(), c.applications.end(),
                   [](const ApplicationStatus& x, const ApplicationStatus& y) {
                     return x.connections > y.connections;
                   });
  c.idle_ratio = activity.summary.idle_ratio;
  c.lock_waiting = activity.summary.lock_waiting;
  return c;
}

PoolBudgetStatus Pools(const PoolSignals& p) {
  PoolBudgetStatus b;
  b.declared_max_total = p.declared_max_total;
  b.overhead = p.overhead;
  b.budget = p.budget;
  b.budget_ratio = p.budget_ratio;
  b.overcommitted = p.overcommitted;
  b.monitoring_agents = p.monitoring_agents;
  for (const DeclaredPoolSignals& d : p.declared) {
    DeclaredPoolStatus s;
    s.application = d.application;
    s.replicas = d.replicas;
    s.declared_max = d.declared_max;
    s.connections = d.connections;
    s.excess = d.excess;
    s.pool_max = d.pool_max;
    s.pool_min = d.pool_min;
    s.busy = d.busy;
    s.busy_peak = d.evidence.busy_peak;
    s.saturated_seconds = d.evidence.saturated_seconds_total;
    b.declared.push_back(std::move(s));
  }
  return b;
}

BouncerStatus Bouncer(const PgBouncerPools* pools,
                      const PgBouncerSignals* signals) {
  BouncerStatus b;
  if (pools != nullptr) {
    b.waiting_clients = pools->waiting_clients;
    b.logical_connections = pools->logical_connections;
    b.physical_connections = pools->physical_connections;
    for (const PgBouncerPool& p : pools->pools) {
      auto it = p.clients.find("waiting");
      b.pools.push_back({p.database, p.user,
                         it == p.clients.end() ? 0 : it->second,
                         p.max_wait_seconds});
    }
  }
  if (signals != nullptr) b.client_utilization = signals->client_utilization;
  return b;
}

void AddWarnings(TargetStatus* t) {
  auto add = [t](std::string alert, std::string severity, std::string summary,
                 std::string advice) {
    t->warnings.push_back({std::move(alert), std::move(severity),
                           std::move(summary), std::move(advice)});
  };
  if (t->polled && !t->up) {
    add(t->kind == "pgbouncer" ? "PgconnPgbouncerDown" : "PgconnTargetDown",
        "critical", "The last poll of this target failed.", kAdviceDown);
  }
  if (t->connections) {
    const ConnectionStatus& c = *t->connections;
    if (c.available == 0) {
      add("PgconnConnectionsExhausted", "critical",
          "No usable connection slot is free (" + std::to_string(c.used) +
              " used of " + std::to_string(c.usable) + ").",
          kAdviceTooManyClients);
    } else if (c.utilization >= c.near_limit_threshold) {
      add("PgconnConnectionsNearLimit",
          c.utilization >= kCriticalUtilization ? "critical" : "warning",
          Percent(c.utilization) + " of the usable connections are used.",
          kAdviceNearLimit);
    }
    if (c.idle_ratio >= kIdleRatioHigh && c.used >= kIdleRatioMinUsed) {
      add("PgconnIdleConnectionsHigh", "info",
          Percent(c.idle_ratio) + " of the connections are idle.", kAdviceIdle);
    }
    if (c.oldest_idle_in_transaction_seconds > kIdleInTransactionWarning) {
      add("PgconnIdleInTransactionTooLong",
          c.oldest_idle_in_transaction_seconds > kIdleInTransactionCritical
              ? "critical"
              : "warning",
          "A transaction has been idle for " +
              Seconds(c.oldest_idle_in_transaction_seconds) + ".",
          kAdviceIdleInTransaction);
    }
    if (c.lock_waiting >= kLockWaitingWarning) {
      add("PgconnConnectionsWaitingOnLocks", "warning",
          std::to_string(c.lock_waiting) + " connections wait on locks.",
          kAdviceLocks);
    }
  }
  if (t->pools) {
    const PoolBudgetStatus& p = *t->pools;
    if (p.overcommitted.value_or(false)) {
      add("PgconnPoolBudgetOvercommitted",
          p.budget_ratio.value_or(0) > 1 ? "critical" : "warning",
          "The declared pools can open " + std::to_string(p.budget) +
              " connections (" + Percent(p.budget_ratio.value_or(0)) +
              " of the usable slots).",
          kAdviceBudget);
    }
    for (const DeclaredPoolStatus& d : p.declared) {
      if (d.excess <= 0) continue;
      add("PgconnPoolExceedsDeclared", "warning",
          d.application + " holds " + std::to_string(d.connections) +
              " connections, " + std::to_string(d.excess) +
              " more than declared.",
          kAdviceExcess);
    }
  }
  if (t->pgbouncer) {
    const BouncerStatus& b = *t->pgbouncer;
    if (b.waiting_clients > 0) {
      add("PgconnPgbouncerClientsWaiting", "warning",
          std::to_string(b.waiting_clients) +
              " clients wait for a server connection.",
          kAdviceWaiting);
    }
    if (b.client_utilization.value_or(0) >= kBouncerClientsNearLimit) {
      add("PgconnPgbouncerClientConnectionsNearLimit",
          *b.client_utilization >= kCriticalUtilization ? "critical"
                                                        : "warning",
          Percent(*b.client_utilization) + " of max_client_conn are used.",
          kAdviceBouncerClients);
    }
  }
  std::stable_sort(t->warnings.begin(), t->warnings.end(),
                   [](const WarningSign& a, const WarningSign& b) {
                     return SeverityRank(a.severity) < SeverityRank(b.severity);
                   });
}

TargetStatus Target(const TargetReport& r) {
  TargetStatus t;
  t.name = r.target;
  t.kind = r.kind == TargetKind::kPgBouncer ? "pgbouncer" : "postgres";
  t.up = r.up;
  t.polled = r.stats.attempted;
  t.last_success_unix = r.stats.last_success_unix;
  if (r.snapshot != nullptr) {
    const Snapshot& s = *r.snapshot;
    const auto* limits = s.Find<ConnectionLimits>();
    const auto* activity = s.Find<Activity>();
    if (limits != nullptr && activity != nullptr) {
      t.connections =
          Connections(*limits, *activity, s.Find<ConnectionSignals>());
      if (const auto* peaks = s.Find<PostgresPeaks>(); peaks != nullptr) {
        t.connections->peak_used = peaks->used;
        t.connections->peak_utilization = peaks->utilization;
        t.connections->peak_window_seconds = peaks->window_seconds;
      }
    }
    if (const auto* p = s.Find<PoolSignals>(); p != nullptr)
      t.pools = Pools(*p);
    if (const auto* h = s.Find<UsedHistory>(); h != nullptr) {
      t.history = UsedHistoryStatus{h->samples, h->poll_interval_seconds};
    }
    const auto* bp = s.Find<PgBouncerPools>();
    const auto* bs = s.Find<PgBouncerSignals>();
    if (bp != nullptr || bs != nullptr) t.pgbouncer = Bouncer(bp, bs);
  }
  AddWarnings(&t);
  return t;
}

// --- JSON ----------------------------------------------------------------

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

// --- HTML ----------------------------------------------------------------

// A stable colour per application name, so that a name keeps its colour
// across reloads.
int Hue(std::string_view name) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char ch : name) h = (h ^ ch) * 16777619u;
  return static_cast<int>(h % 360);
}

constexpr char kStyle[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}"
    "h2{margin:1.2em 0 .3em}.up{color:#1a7f37}.down{color:#cf222e}"
    ".kind{font-size:70%;color:#666;font-weight:normal}"
    ".bar{position:relative;height:28px;background:#eee;border:1px solid "
    "#999;display:flex;max-width:60em}"
    ".seg{height:100%;overflow:hidden;white-space:nowrap;font-size:11px;"
    "color:#fff;text-indent:3px}"
    ".line{position:absolute;top:-4px;bottom:-4px;border-left:2px dashed "
    "#cf222e}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:0 1em}"
    "dd{margin:0;font-weight:bold}table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}"
    ".critical{color:#cf222e}.warning{color:#9a6700}.info{color:#0969da}"
    "li{margin:.3em 0}footer{margin-top:2em;color:#666}"
    ".seg{position:relative}.peak{position:absolute;left:0;top:0;bottom:0;"
    "background:rgba(0,0,0,.35);border-right:2px solid #000}"
    ".seg.fixed{background:#8c959f}.line.usable{border-left:2px solid #222}"
    ".legend{color:#555;font-size:90%;max-width:60em}"
    "svg.history{border:1px solid #999;background:#fafafa;max-width:100%}"
    "svg .used{fill:none;stroke:#0969da;stroke-width:1.5}"
    "svg circle.used{fill:#0969da}"
    "svg .usable{stroke:#cf222e}svg .headroom{stroke:#9a6700;"
    "stroke-dasharray:6 4}svg text{font-size:10px;fill:#555}";

void Append(std::string& out, std::string_view a) { out.append(a); }

std::string Field(std::string_view field, std::string_view value) {
  return "<dd data-field=\"" + std::string(field) + "\">" + HtmlEscape(value) +
         "</dd>";
}

// "12 used (60 %) in the last 60 s", or why there is no figure.
std::string PeakText(const ConnectionStatus& c) {
  if (!c.peak_used) return "not measured";
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%.0f used (%s) in the last %.0f s",
                *c.peak_used, Percent(c.peak_utilization.value_or(0)).c_str(),
                c.peak_window_seconds);
  return buf;
}

void ConnectionsHtml(std::string& out, const ConnectionStatus& c) {
  // The bar spans the usable slots (or what is used, if superusers went
  // beyond them); the dashed line is the headroom threshold.
  const double scale =
      static_cast<double>(std::max<int64_t>({c.usable, c.used, 1}));
  Append(out, "<div class=\"bar\" title=\"connections by application\">");
  for (const ApplicationStatus& a : c.applications) {
    const std::string name = HtmlEscape(a.application);
    Append(out, "<span class=\"seg\" style=\"width:" +
                    Fixed(100.0 * a.connections / scale, 2) +
                    "%;background:hsl(" + std::to_string(Hue(a.application)) +
                    ",55%,45%)\" title=\"" + name + ": " +
                    std::to_string(a.connections) + "\">" + name + "</span>");
  }
  Append(out, "<span class=\"line\" style=\"left:" +
                  Fixed(100.0 * c.headroom_connections / scale, 2) +
                  "%\" title=\"headroom: " + Percent(c.near_limit_threshold) +
                  " of usable\"></span></div>\n<dl>");
  Append(out, "<dt>Usable limit</dt>" +
                  Field("usable_connections", std::to_string(c.usable)));
  Append(out,
         "<dt>Used</dt>" + Field("used_connections", std::to_string(c.used)));
  Append(out, "<dt>Available</dt>" +
                  Field("available_connections", std::to_string(c.available)));
  Append(out, "<dt>Utilization</dt>" +
                  Field("utilization_ratio", Percent(c.utilization)));
  Append(out,
         "<dt>Headroom line (" + Percent(c.near_limit_threshold) + ")</dt>" +
             Field("headroom_connections", Fixed(c.headroom_connections, 1)));
  Append(out,
         "<dt>Max / reserved</dt>" +
             Field("max_connections", std::to_string(c.max_connections) +
                                          " / " + std::to_string(c.reserved)));
  Append(out,
         "<dt>Idle ratio</dt>" + Field("idle_ratio", Percent(c.idle_ratio)));
  Append(out, "<dt>Oldest idle in transaction</dt>" +
                  Field("oldest_idle_in_transaction_seconds",
                        Seconds(c.oldest_idle_in_transaction_seconds)));
  Append(out,
         "<dt>Waiting on locks</dt>" +
             Field("lock_waiting_connections", std::to_string(c.lock_waiting)));
  Append(out, "<dt>Peak over the window</dt>" +
                  Field("used_connections_peak", PeakText(c)) + "</dl>\n");
  // Applications x states: the states any application of this target has,
  // plus the three the guide talks about.
  std::vector<std::string> states = {"active", "idle", "idle in transaction"};
  for (const auto& [state, n] : c.states) {
    if (n > 0 &&
        std::find(states.begin(), states.end(), state) == states.end()) {
      states.push_back(state);
    }
  }
  Append(out,
         "<table class=\"applications\"><thead><tr><th>Application</th>"
         "<th>Connections</th>");
  for (const std::string& s : states)
    Append(out, "<th>" + HtmlEscape(s) + "</th>");
  Append(out, "<th>Oldest idle in transaction</th></tr></thead><tbody>\n");
  for (const ApplicationStatus& a : c.applications) {
    Append(out, "<tr><td class=\"application\">" + HtmlEscape(a.application) +
                    "</td><td data-field=\"connections\">" +
                    std::to_string(a.connections) + "</td>");
    for (const std::string& s : states) {
      auto it = a.states.find(s);
      Append(out, "<td data-state=\"" + HtmlEscape(s) + "\">" +
                      std::to_string(it == a.states.end() ? 0 : it->second) +
                      "</td>");
    }
    Append(out, "<td>" + Seconds(a.oldest_idle_in_transaction_seconds) +
                    "</td></tr>\n");
  }
  Append(out, "</tbody></table>\n");
}

void PoolsHtml(std::string& out, const PoolBudgetStatus& p) {
  Append(out,
         "<h3>Declared pools</h3><dl><dt>Budget</dt>" +
             Field("budget_connections", std::to_string(p.budget)) +
             "<dt>Budget of usable</dt>" +
             Field("budget_ratio", p.budget_ratio ? Percent(*p.budget_ratio)
                                                  : std::string("-")) +
             "</dl>\n<table class=\"pools\"><thead><tr><th>Application"
             "</th><th>Replicas</th><th>DB_POOL_MAX</th><th>DB_POOL_MIN"
             "</th><th>Declared max</th><th>Connections</th><th>Busy</th>"
             "<th>Busy peak</th><th>Peak per worker</th><th>Full for</th>"
             "<th>Excess</th></tr></thead><tbody>\n");
  for (const DeclaredPoolStatus& d : p.declared) {
    const std::string per_worker =
        d.replicas > 0 ? Fixed(d.busy_peak / static_cast<double>(d.replicas), 1)
                       : std::string("-");
    Append(out, "<tr data-application=\"" + HtmlEscape(d.application) +
                    "\"><td>" + HtmlEscape(d.application) + "</td><td>" +
                    std::to_string(d.replicas) + "</td><td>" +
                    std::to_string(d.pool_max) + "</td><td>" +
                    std::to_string(d.pool_min) + "</td><td>" +
                    std::to_string(d.declared_max) + "</td><td>" +
                    std::to_string(d.connections) + "</td><td>" +
                    std::to_string(d.busy) +
                    "</td><td data-field=\"busy_peak_connections\">" +
                    Fixed(d.busy_peak, 0) + "</td><td>" + per_worker +
                    "</td><td data-field=\"saturated_seconds\">" +
                    Seconds(d.saturated_seconds) + "</td><td>" +
                    std::to_string(d.excess) + "</td></tr>\n");
  }
  Append(out, "</tbody></table>\n");
}

// --- Capacity: the declared pools against the usable slots, and the last
// hour of used connections (issue 20) ----------------------------------

// The chart's size in SVG user units, and its time buckets: an hour in at
// most 360 points (the highest sample of each 10 s), so that the page stays
// a few kilobytes whatever the poll interval; the JSON has every sample.
constexpr int kChartWidth = 600;
constexpr int kChartHeight = 120;
constexpr int64_t kChartBucketMs = 10'000;

void UsedHistoryJson(JsonWriter& w, const UsedHistoryStatus& h) {
  w.BeginObject();
  w.Key("poll_interval_seconds").Double(h.poll_interval_seconds);
  w.Key("span_seconds").Int(kUsedHistorySpanMs / 1000);
  w.Key("samples").BeginArray();
  for (const UsedSample& s : h.samples) {
    w.BeginArray().Int(s.unix_ms).Int(s.used).EndArray();
  }
  w.EndArray();
  w.EndObject();
}

std::string ClockTime(int64_t unix_ms) {
  const time_t t = static_cast<time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%H:%M:%S UTC", &tm);
  return buf;
}

// The guide's picture: each declared pool's workers × DB_POOL_MAX stacked,
// then the overhead and pgconn's own slot, against the usable slots (the
// bar's solid end line) and the headroom line (dashed); inside each pool,
// the darker part is its busy peak within the peak window.
void PoolPictureHtml(std::string& out, const PoolBudgetStatus& p,
                     const ConnectionStatus& c) {
  const double scale =
      static_cast<double>(std::max<int64_t>({c.usable, p.budget, 1}));
  Append(out,
         "<h4>Workers \u00d7 DB_POOL_MAX against the usable slots</h4>\n"
         "<div class=\"bar pools\" data-field=\"pool_picture\" "
         "data-usable=\"" +
             std::to_string(c.usable) + "\" data-budget=\"" +
             std::to_string(p.budget) + "\">");
  for (const DeclaredPoolStatus& d : p.declared) {
    if (d.declared_max <= 0) continue;
    const std::string name = HtmlEscape(d.application);
    const double peak_share =
        std::min(d.busy_peak / static_cast<double>(d.declared_max), 1.0);
    Append(out,
           "<span class=\"seg pool\" style=\"width:" +
               Fixed(100.0 * static_cast<double>(d.declared_max) / scale, 2) +
               "%;background:hsl(" + std::to_string(Hue(d.application)) +
               ",55%,45%)\" data-application=\"" + name +
               "\" data-declared-max=\"" + std::to_string(d.declared_max) +
               "\" data-busy-peak=\"" + Fixed(d.busy_peak, 0) + "\" title=\"" +
               name + ": " + std::to_string(d.replicas) +
               " \u00d7 DB_POOL_MAX " + std::to_string(d.pool_max) + " = " +
               std::to_string(d.declared_max) + "; busy peak " +
               Fixed(d.busy_peak, 0) +
               "\"><span class=\"peak\" style=\"width:" +
               Fixed(100.0 * peak_share, 2) + "%\"></span>" + name + " " +
               std::to_string(d.replicas) + "\u00d7" +
               std::to_string(d.pool_max) + "</span>");
  }
  if (p.overhead > 0) {
    Append(out, "<span class=\"seg fixed\" style=\"width:" +
                    Fixed(100.0 * static_cast<double>(p.overhead) / scale, 2) +
                    "%\" title=\"overhead " + std::to_string(p.overhead) +
                    "\">overhead</span>");
  }
  if (p.monitoring_agents > 0) {
    Append(
        out,
        "<span class=\"seg fixed\" style=\"width:" +
            Fixed(100.0 * static_cast<double>(p.monitoring_agents) / scale, 2) +
            "%\" title=\"pgconn's own session\"></span>");
  }
  Append(out, "<span class=\"line\" style=\"left:" +
                  Fixed(100.0 * c.headroom_connections / scale, 2) +
                  "%\" title=\"headroom: " + Percent(c.near_limit_threshold) +
                  " of usable\"></span><span class=\"line usable\" "
                  "style=\"left:" +
                  Fixed(100.0 * static_cast<double>(c.usable) / scale, 2) +
                  "%\" title=\"usable: " + std::to_string(c.usable) +
                  "\"></span></div>\n<p class=\"legend\">Budget " +
                  std::to_string(p.budget) + " of " + std::to_string(c.usable) +
                  " usable (dashed: " + Percent(c.near_limit_threshold) +
                  " headroom line, " + Fixed(c.headroom_connections, 1) +
                  "); the darker part of each pool is its busy peak. "
                  "<code>pgconn-agent plan --from-prometheus</code> sizes "
                  "the pools from a week of it.</p>\n");
}

// The last hour of used connections as an inline SVG: one line per run of
// polls without a gap (a gap of more than 3 poll intervals breaks it),
// the usable slots (solid) and the headroom line (dashed).
void UsedHistoryHtml(std::string& out, const UsedHistoryStatus& h,
                     const ConnectionStatus& c) {
  Append(out, "<h3>Used connections, last hour</h3>\n");
  if (h.samples.empty()) {
    Append(out,
           "<p data-field=\"used_history\" data-samples=\"0\">No poll "
           "yet.</p>\n");
    return;
  }
  const int64_t end = h.samples.back().unix_ms;
  const int64_t start = end - kUsedHistorySpanMs;
  int64_t top = std::max<int64_t>(c.usable, 1);
  const UsedSample* highest = &h.samples.front();
  for (const UsedSample& s : h.samples) {
    top = std::max(top, s.used);
    if (s.used >= highest->used) highest = &s;
  }
  const double plot = kChartHeight - 20;
  auto x = [&](int64_t ms) {
    return Fixed(static_cast<double>(ms - start) * kChartWidth /
                     static_cast<double>(kUsedHistorySpanMs),
                 1);
  };
  auto y = [&](double v) {
    return Fixed(kChartHeight - 10 - v * plot / static_cast<double>(top), 1);
  };
  const int64_t gap = std::max<int64_t>(
      static_cast<int64_t>(3000 * h.poll_interval_seconds), 2500);
  std::string lines;
  std::string points;
  int64_t previous = 0;
  int64_t bucket = -1;
  UsedSample best{};
  auto flush_point = [&] {
    if (bucket >= 0) {
      points += x(best.unix_ms) + "," + y(static_cast<double>(best.used)) + " ";
    }
  };
  auto flush_line = [&] {
    flush_point();
    if (!points.empty()) {
      points.pop_back();
      lines += "<polyline class=\"used\" points=\"" + points + "\"/>";
      // A run of one point draws no line: mark it.
      if (points.find(' ') == std::string::npos) {
        const size_t comma = points.find(',');
        lines += "<circle class=\"used\" r=\"2\" cx=\"" +
                 points.substr(0, comma) + "\" cy=\"" +
                 points.substr(comma + 1) + "\"/>";
      }
    }
    points.clear();
    bucket = -1;
  };
  for (const UsedSample& s : h.samples) {
    if (bucket >= 0 && s.unix_ms - previous > gap) flush_line();
    // Buckets aligned to the clock, so that the points stay put from one
    // reload of the page to the next.
    const int64_t b = s.unix_ms / kChartBucketMs;
    if (b != bucket) {
      flush_point();
      bucket = b;
      best = s;
    } else if (s.used >= best.used) {
      best = s;
    }
    previous = s.unix_ms;
  }
  flush_line();
  Append(out,
         "<svg class=\"history\" data-field=\"used_history\" data-samples=\"" +
             std::to_string(h.samples.size()) + "\" data-highest=\"" +
             std::to_string(highest->used) + "\" viewBox=\"0 0 " +
             std::to_string(kChartWidth) + " " + std::to_string(kChartHeight) +
             "\" width=\"" + std::to_string(kChartWidth) + "\" height=\"" +
             std::to_string(kChartHeight) +
             "\" role=\"img\" aria-label=\"used connections over the last "
             "hour\"><line class=\"usable\" x1=\"0\" x2=\"" +
             std::to_string(kChartWidth) + "\" y1=\"" +
             y(static_cast<double>(c.usable)) + "\" y2=\"" +
             y(static_cast<double>(c.usable)) +
             "\"/><line class=\"headroom\" x1=\"0\" x2=\"" +
             std::to_string(kChartWidth) + "\" y1=\"" +
             y(c.headroom_connections) + "\" y2=\"" +
             y(c.headroom_connections) + "\"/>" + lines +
             "<text x=\"4\" y=\"12\">" + std::to_string(top) +
             "</text><text x=\"4\" y=\"" + std::to_string(kChartHeight - 1) +
             "\">" + ClockTime(start) + "</text><text x=\"" +
             std::to_string(kChartWidth - 4) + "\" y=\"" +
             std::to_string(kChartHeight - 1) + "\" text-anchor=\"end\">" +
             ClockTime(end) + "</text></svg>\n");
  Append(out, "<p class=\"legend\">Highest <b data-field=\"used_highest\">" +
                  std::to_string(highest->used) + "</b> at " +
                  ClockTime(highest->unix_ms) + "; red: the " +
                  std::to_string(c.usable) +
                  " usable slots, dashed: the headroom line. One sample per "
                  "poll (at most one a second), " +
                  std::to_string(h.samples.size()) + " kept in memory.</p>\n");
}

void BouncerHtml(std::string& out, const BouncerStatus& b) {
  Append(out, "<dl><dt>Clients waiting</dt>" +
                  Field("waiting_clients", std::to_string(b.waiting_clients)) +
                  "<dt>Logical / physical connections</dt>" +
                  Field("logical_physical",
                        std::to_string(b.logical_connections) + " / " +
                            std::to_string(b.physical_connections)) +
                  "<dt>Client connections used</dt>" +
                  Field("client_utilization_ratio",
                        b.client_utilization ? Percent(*b.client_utilization)
                                             : std::string("-")) +
                  "</dl>\n<table class=\"bouncer-pools\"><thead><tr><th>"
                  "Database</th><th>User</th><th>Waiting</th><th>Longest wait"
                  "</th></tr></thead><tbody>\n");
  for (const BouncerPoolStatus& p : b.pools) {
    Append(out, "<tr><td>" + HtmlEscape(p.database) + "</td><td>" +
                    HtmlEscape(p.user) + "</td><td>" +
                    std::to_string(p.waiting_clients) + "</td><td>" +
                    Seconds(p.max_wait_seconds) + "</td></tr>\n");
  }
  Append(out, "</tbody></table>\n");
}

void WarningsHtml(std::string& out, const std::vector<WarningSign>& ws) {
  if (ws.empty()) {
    Append(out, "<p class=\"ok\">No warning sign.</p>\n");
    return;
  }
  Append(out, "<ul class=\"warnings\">\n");
  for (const WarningSign& w : ws) {
    Append(out, "<li class=\"" + w.severity + "\" data-alert=\"" + w.alert +
                    "\"><b>" + HtmlEscape(w.summary) + "</b> " +
                    HtmlEscape(w.advice) + " <a href=\"" +
                    std::string(kRunbookBaseUrl) + w.alert + ".md\">Runbook " +
                    w.alert + "</a></li>\n");
  }
  Append(out, "</ul>\n");
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

StatusModel BuildStatusModel(const std::vector<TargetReport>& reports) {
  StatusModel m;
  m.targets.reserve(reports.size());
  for (const TargetReport& r : reports) m.targets.push_back(Target(r));
  return m;
}

std::string RenderStatusJson(const StatusModel& model) {
  JsonWriter w;
  w.BeginObject();
  w.Key("targets").BeginArray();
  for (const TargetStatus& t : model.targets) {
    w.BeginObject();
    w.Key("target").String(t.name);
    w.Key("kind").String(t.kind);
    w.Key("up").Bool(t.up);
    w.Key("polled").Bool(t.polled);
    w.Key("last_success_timestamp_seconds").Double(t.last_success_unix);
    w.Key("connections");
    if (t.connections) {
      ConnectionsJson(w, *t.connections);
    } else {
      w.Null();
    }
    w.Key("peak");
    PeakJson(w, t.connections);
    w.Key("pools");
    if (t.pools) {
      PoolsJson(w, *t.pools);
    } else {
      w.Null();
    }
    w.Key("pgbouncer");
    if (t.pgbouncer) {
      BouncerJson(w, *t.pgbouncer);
    } else {
      w.Null();
    }
    w.Key("used_history");
    if (t.history) {
      UsedHistoryJson(w, *t.history);
    } else {
      w.Null();
    }
    w.Key("warnings").BeginArray();
    for (const WarningSign& ws : t.warnings) {
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
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string RenderStatusHtml(const StatusModel& model, int refresh_seconds) {
  std::string out;
  out.reserve(4096);
  Append(out,
         "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta http-equiv=\"refresh\" content=\"" +
             std::to_string(std::max(refresh_seconds, 1)) +
             "\"><meta name=\"viewport\" content=\"width=device-width\">"
             "<title>pgconn status</title><style>" +
             kStyle + "</style></head><body>\n<h1>pgconn status</h1>\n");
  if (model.targets.empty()) Append(out, "<p>No target is configured.</p>\n");
  for (const TargetStatus& t : model.targets) {
    const char* state = !t.polled ? "not polled yet" : t.up ? "up" : "down";
    Append(out, "<section class=\"target\" data-target=\"" +
                    HtmlEscape(t.name) + "\" data-kind=\"" + t.kind +
                    "\"><h2>" + HtmlEscape(t.name) + " <span class=\"kind\">" +
                    (t.kind == "pgbouncer" ? "PgBouncer" : "PostgreSQL") +
                    "</span> <span class=\"" + (t.up ? "up" : "down") +
                    "\" data-field=\"up\">" + state + "</span></h2>\n");
    WarningsHtml(out, t.warnings);
    if (t.connections) ConnectionsHtml(out, *t.connections);
    if (t.pools) {
      PoolsHtml(out, *t.pools);
      if (t.connections) PoolPictureHtml(out, *t.pools, *t.connections);
    }
    if (t.history && t.connections) {
      UsedHistoryHtml(out, *t.history, *t.connections);
    }
    if (t.pgbouncer) BouncerHtml(out, *t.pgbouncer);
    Append(out, "</section>\n");
  }
  Append(out, "<footer>Reloads every " +
                  std::to_string(std::max(refresh_seconds, 1)) +
                  " s. <a href=\"/metrics\">/metrics</a> · <a "
                  "href=\"/api/v1/status\">/api/v1/status</a> (JSON) · <a "
                  "href=\"/healthz\">/healthz</a> · <a "
                  "href=\"/readyz\">/readyz</a></footer>\n</body></html>\n");
  return out;
}

std::shared_ptr<const StatusPage> BuildStatusPage(
    const std::vector<TargetReport>& reports, int refresh_seconds) {
  const StatusModel model = BuildStatusModel(reports);
  return std::make_shared<const StatusPage>(
      RenderStatusHtml(model, refresh_seconds), RenderStatusJson(model));
}

}  // namespace pgconn
