#include "runtime/exposition.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "postgres/signals.h"

namespace pgconn {

std::string_view PollErrorReason(StatusCode code) {
  switch (code) {
    case StatusCode::kUnavailable:
      return "connect";
    case StatusCode::kUnauthenticated:
      return "auth";
    case StatusCode::kTooManyClients:
      return "too_many_clients";
    case StatusCode::kDeadlineExceeded:
      return "timeout";
    case StatusCode::kConnectionLost:
      return "connection_lost";
    case StatusCode::kQueryFailed:
      return "query";
    case StatusCode::kInvalidData:
      return "invalid_data";
    default:
      return "internal";
  }
}

BuildInfo CurrentBuildInfo() { return {PGCONN_VERSION, PGCONN_REVISION}; }

namespace detail {

void MetricsWriter::Add(std::string_view name, std::string_view help,
                        prometheus::MetricType type, Labels labels,
                        double value) {
  auto it = index_.find(name);
  if (it == index_.end()) {
    prometheus::MetricFamily f;
    f.name = std::string(name);
    f.help = std::string(help);
    f.type = type;
    families_.push_back(std::move(f));
    it = index_.emplace(std::string(name), families_.size() - 1).first;
  }
  prometheus::ClientMetric m;
  for (auto& [k, v] : labels) m.label.push_back({std::move(k), std::move(v)});
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  families_[it->second].metric.push_back(std::move(m));
}

void MetricsWriter::Gauge(std::string_view name, std::string_view help,
                          Labels labels, double value) {
  Add(name, help, prometheus::MetricType::Gauge, std::move(labels), value);
}

void MetricsWriter::Counter(std::string_view name, std::string_view help,
                            Labels labels, double value) {
  Add(name, help, prometheus::MetricType::Counter, std::move(labels), value);
}

std::vector<prometheus::MetricFamily> MetricsWriter::Take() {
  index_.clear();
  return std::move(families_);
}

void AppendAgentMetrics(const std::vector<TargetReport>& reports,
                        const BuildInfo& build, MetricsWriter* w) {
  w->Gauge("pgconn_build_info",
           "Always 1; labels give the pgconn version and source revision.",
           {{"version", build.version}, {"revision", build.revision}}, 1);
  for (const TargetReport& r : reports) {
    const Labels t = {{"target", r.target}};
    w->Gauge("pgconn_up",
             "1 if the last poll of the target succeeded, 0 otherwise.", t,
             r.up ? 1 : 0);
    w->Gauge("pgconn_poll_duration_seconds",
             "Wall time of the last poll of the target: connect (if needed) "
             "and the query round trip.",
             t, r.stats.last_duration_seconds);
    w->Counter("pgconn_polls_total",
               "Polls of the target attempted since the agent started.", t,
               static_cast<double>(r.stats.polls_total));
    for (auto reason : kPollErrorReasons) {
      auto it = r.stats.errors_total.find(std::string(reason));
      Labels l = t;
      l.emplace_back("reason", std::string(reason));
      w->Counter("pgconn_poll_errors_total",
                 "Failed polls of the target by reason (connect, auth, "
                 "too_many_clients, timeout, connection_lost, query, "
                 "invalid_data, internal).",
                 std::move(l),
                 it == r.stats.errors_total.end()
                     ? 0
                     : static_cast<double>(it->second));
    }
    w->Gauge("pgconn_last_poll_success_timestamp_seconds",
             "Unix time of the last successful poll of the target; 0 if none "
             "has succeeded yet.",
             t, r.stats.last_success_unix);
    w->Gauge("pgconn_poll_interval_seconds",
             "Configured time between two polls of the target.", t,
             r.poll_interval_seconds);
    if (r.snapshot) {
      for (const CollectorOutcome& c : r.snapshot->collectors) {
        Labels l = t;
        l.emplace_back("collector", c.name);
        w->Gauge("pgconn_collector_success",
                 "1 if the collector succeeded in the last successful poll.", l,
                 c.success ? 1 : 0);
        w->Gauge("pgconn_collector_duration_seconds",
                 "Time spent on the collector's statement in the last "
                 "successful poll: by the server's clock when statements are "
                 "batched, the round trip when run alone.",
                 std::move(l), c.duration_seconds);
      }
    }
  }
}

namespace {

Labels With(const Labels& base, std::string k, std::string v) {
  Labels l = base;
  l.emplace_back(std::move(k), std::move(v));
  return l;
}

void AppendLimitedGroups(const Labels& t, const std::vector<LimitedGroup>& gs,
                         std::string_view label, std::string_view noun,
                         MetricsWriter* w) {
  const std::string base = "pgconn_" + std::string(noun);
  std::vector<const LimitedGroup*> sorted;
  for (const auto& g : gs) sorted.push_back(&g);
  std::sort(sorted.begin(), sorted.end(),
            [](auto* a, auto* b) { return a->name < b->name; });
  const std::string what = noun == "database"
                               ? "database (pg_database.datconnlimit)"
                               : "role (pg_roles.rolconnlimit)";
  for (const LimitedGroup* g : sorted) {
    w->Gauge(base + "_connections",
             "Client backends connected per " + std::string(noun) +
                 "; names beyond the configured maximum are folded into "
                 "\"(other)\".",
             With(t, std::string(label), g->name),
             static_cast<double>(g->connections));
  }
  for (const LimitedGroup* g : sorted) {
    if (!g->limit) continue;
    w->Gauge(base + "_connection_limit",
             "Connection limit of the " + what + "; only where one is set.",
             With(t, std::string(label), g->name),
             static_cast<double>(*g->limit));
  }
  for (const LimitedGroup* g : sorted) {
    auto u = LimitUtilization(*g);
    if (!u) continue;
    w->Gauge(base + "_connection_utilization_ratio",
             "Client backends of the " + std::string(noun) +
                 " divided by its connection limit; only where a limit is "
                 "set (1 for a limit of 0).",
             With(t, std::string(label), g->name), *u);
  }
}

}  // namespace

void AppendPostgresMetrics(const TargetReport& r, MetricsWriter* w) {
  if (!r.snapshot) return;
  const PostgresData& pg = r.snapshot->postgres;
  const Labels t = {{"target", r.target}};
  Thresholds th;
  th.near_limit = r.near_limit_threshold;
  const Signals s = DeriveSignals(pg, th);

  if (pg.has_activity) {
    // Every known state of every application present, 0 where none.
    std::map<std::string, std::map<std::string, const ActivityGroup*>> by_app;
    for (const ActivityGroup& g : pg.activity) {
      by_app[g.application][g.state] = &g;
    }
    for (const auto& [app, states] : by_app) {
      std::set<std::string> done;
      for (auto state : kKnownStates) {
        auto it = states.find(std::string(state));
        Labels l =
            With(With(t, "application", app), "state", std::string(state));
        w->Gauge("pgconn_connections",
                 "Client backends in pg_stat_activity by application_name and "
                 "state, excluding pgconn's own session.",
                 std::move(l),
                 it == states.end()
                     ? 0
                     : static_cast<double>(it->second->connections));
        done.insert(std::string(state));
      }
      for (const auto& [state, g] : states) {
        if (done.count(state)) continue;
        w->Gauge("pgconn_connections",
                 "Client backends in pg_stat_activity by application_name and "
                 "state, excluding pgconn's own session.",
                 With(With(t, "application", app), "state", state),
                 static_cast<double>(g->connections));
      }
    }
    std::vector<const ApplicationInfo*> apps;
    for (const auto& a : pg.applications) apps.push_back(&a);
    std::sort(apps.begin(), apps.end(),
              [](auto* a, auto* b) { return a->application < b->application; });
    for (const ApplicationInfo* a : apps) {
      w->Gauge("pgconn_application_client_addresses",
               "Distinct client addresses of an application's client "
               "backends (all Unix-socket clients count as one): an estimate "
               "of its connected processes or hosts.",
               With(t, "application", a->application),
               static_cast<double>(a->client_addresses));
    }
    w->Gauge("pgconn_folded_applications",
             "Distinct application names beyond max_applications, folded "
             "into application=\"(other)\".",
             t, static_cast<double>(pg.folded_applications));
    for (const auto& [app, a] : s.applications) {
      w->Gauge("pgconn_oldest_idle_in_transaction_seconds",
               "Age of the oldest state change among the application's "
               "sessions idle in a transaction (aborted or not); 0 if none.",
               With(t, "application", app),
               a.oldest_idle_in_transaction_seconds);
    }
    for (const auto& [app, a] : s.applications) {
      w->Gauge("pgconn_oldest_idle_seconds",
               "Time the application's longest-idle session has been idle; "
               "compare with the pool's DB_MAX_IDLE_TIME. 0 if none is idle.",
               With(t, "application", app), a.oldest_idle_seconds);
    }
    for (const auto& [app, a] : s.applications) {
      w->Gauge("pgconn_oldest_transaction_seconds",
               "Age of the application's oldest open transaction "
               "(now() - xact_start); 0 if none is open.",
               With(t, "application", app), a.oldest_transaction_seconds);
    }
    w->Gauge("pgconn_lock_waiting_connections",
             "Client backends waiting on a heavyweight lock "
             "(wait_event_type = 'Lock').",
             t, static_cast<double>(s.lock_waiting));
  }

  if (pg.has_limits) {
    w->Gauge("pgconn_server_version_num",
             "PostgreSQL server_version_num of the target.", t,
             pg.server_version_num);
    w->Gauge("pgconn_max_connections", "PostgreSQL max_connections setting.", t,
             static_cast<double>(pg.limits.max_connections));
    w->Gauge("pgconn_reserved_connections",
             "Slots ordinary roles cannot use: "
             "superuser_reserved_connections plus reserved_connections "
             "(PostgreSQL 16+).",
             t, static_cast<double>(s.reserved));
    w->Gauge("pgconn_usable_connections",
             "Slots for ordinary roles: max_connections minus reserved, "
             "floored at 0.",
             t, static_cast<double>(s.usable));
  }
  if (pg.has_activity) {
    w->Gauge("pgconn_used_connections",
             "Client backends, the connections that compete for "
             "max_connections (pgconn's own session excluded).",
             t, static_cast<double>(s.used));
    w->Gauge("pgconn_idle_ratio",
             "Idle client backends divided by all client backends; 0 when "
             "there are none. High values suggest lowering DB_POOL_MIN.",
             t, s.idle_ratio);
  }
  if (pg.has_limits && pg.has_activity) {
    w->Gauge("pgconn_available_connections",
             "Usable slots not in use: usable minus used, floored at 0.", t,
             static_cast<double>(s.available));
    w->Gauge("pgconn_utilization_ratio",
             "Used divided by usable connections (1 if nothing is usable); "
             "above 1 when superusers use reserved slots.",
             t, s.utilization);
    w->Gauge("pgconn_near_limit",
             "1 if utilization is at or above the near-limit threshold.", t,
             s.near_limit ? 1 : 0);
    w->Gauge("pgconn_near_limit_threshold_ratio",
             "Configured near-limit threshold (default 0.8, the guide's 80 % "
             "headroom rule).",
             t, r.near_limit_threshold);
  }
  if (pg.has_databases) {
    AppendLimitedGroups(t, pg.databases, "database", "database", w);
  }
  if (pg.has_users) AppendLimitedGroups(t, pg.users, "user", "user", w);
  if (pg.has_backends) {
    std::map<std::string, int64_t> counts;
    for (auto type : kKnownBackendTypes) counts[std::string(type)] = 0;
    for (const auto& b : pg.backends) counts[b.backend_type] += b.count;
    for (const auto& [type, n] : counts) {
      w->Gauge("pgconn_backends",
               "Backends other than client backends by backend_type "
               "(autovacuum, WAL senders, background workers...); they do "
               "not take max_connections slots.",
               With(t, "backend_type", type), static_cast<double>(n));
    }
  }
}

}  // namespace detail

std::vector<prometheus::MetricFamily> BuildMetricFamilies(
    const std::vector<TargetReport>& reports, const BuildInfo& build) {
  detail::MetricsWriter w;
  detail::AppendAgentMetrics(reports, build, &w);
  for (const TargetReport& r : reports) {
    if (r.kind == TargetKind::kPostgres) detail::AppendPostgresMetrics(r, &w);
    if (r.kind == TargetKind::kPostgres) detail::AppendPoolMetrics(r, &w);
    if (r.kind == TargetKind::kPgBouncer) detail::AppendPgBouncerMetrics(r, &w);
  }
  return w.Take();
}

std::string SerializeText(
    const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace pgconn
