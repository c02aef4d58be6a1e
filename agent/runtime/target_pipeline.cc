#include "runtime/target_pipeline.h"

#include <set>

#include "pgbouncer/peak_stage.h"
#include "pgbouncer/registry.h"
#include "pgbouncer/signals.h"
#include "pools/pool_signals.h"
#include "postgres/opened_stage.h"
#include "postgres/peak_stage.h"
#include "postgres/registry.h"
#include "postgres/signals.h"
#include "postgres/used_history.h"

namespace pgconn {
namespace {

const Clock& ClockOf(const ExportSettings& settings) {
  static const SystemClock kSystemClock;
  return settings.clock != nullptr ? *settings.clock : kSystemClock;
}

std::vector<std::unique_ptr<SignalStage>> StagesFor(
    const TargetConfig& target, const ExportSettings& settings) {
  std::vector<std::unique_ptr<SignalStage>> stages;
  if (target.kind == TargetKind::kPgBouncer) {
    stages.push_back(NewPgBouncerSignalStage());
    stages.push_back(
        NewPgBouncerPeakStage(settings.peak_window, ClockOf(settings)));
    return stages;
  }
  stages.push_back(NewConnectionSignalStage(settings.near_limit_threshold));
  stages.push_back(
      NewPostgresPeakStage(settings.peak_window, ClockOf(settings)));
  std::shared_ptr<OpenedCounts> opened = settings.carried.opened;
  if (!opened) {
    std::set<std::string, std::less<>> pinned;
    for (const PoolDeclaration& p : target.pools) pinned.insert(p.application);
    opened = std::make_shared<OpenedCounts>(settings.max_applications,
                                            std::move(pinned));
  }
  stages.push_back(NewConnectionsOpenedStage(std::move(opened)));
  stages.push_back(NewUsedHistoryStage(ClockOf(settings),
                                       settings.poll_interval_seconds,
                                       settings.carried.used_history));
  if (!target.pools.empty() || target.overhead) {
    PoolEvidenceSettings evidence;
    evidence.peak_window = settings.peak_window;
    evidence.poll_interval_seconds = settings.poll_interval_seconds;
    evidence.clock = &ClockOf(settings);
    evidence.ledger = settings.carried.pool_evidence;
    stages.push_back(NewPoolBudgetStage(target.pools, target.overhead,
                                        settings.near_limit_threshold,
                                        std::move(evidence)));
  }
  return stages;
}

void AppendPollDuration(double seconds, const Labels& t, MetricsWriter* w) {
  w->Gauge("pgconn_poll_duration_seconds",
           "Wall time of the last poll of the target: connect (if needed), "
           "the query round trip, deriving the signals and serializing the "
           "target's metrics, up to publishing them.",
           t, seconds);
}

// pgconn_up, the poll counters and the collectors' outcomes: what the
// framework says about every target, whatever its kind.
void AppendTargetStatus(const TargetReport& r, const Labels& t,
                        double poll_interval_seconds, MetricsWriter* w) {
  w->Gauge("pgconn_up",
           "1 if the last poll of the target succeeded, 0 otherwise.", t,
           r.up ? 1 : 0);
  AppendPollDuration(r.stats.last_duration_seconds, t, w);
  w->Counter("pgconn_polls_total",
             "Polls of the target attempted since the agent started.", t,
             static_cast<double>(r.stats.polls_total));
  for (auto reason : kPollErrorReasons) {
    auto it = r.stats.errors_total.find(std::string(reason));
    w->Counter(
        "pgconn_poll_errors_total",
        "Failed polls of the target by reason (connect, auth, "
        "too_many_clients, timeout, connection_lost, query, "
        "invalid_data, password_file, internal).",
        WithLabel(t, "reason", reason),
        it == r.stats.errors_total.end() ? 0 : static_cast<double>(it->second));
  }
  w->Gauge("pgconn_last_poll_success_timestamp_seconds",
           "Unix time of the last successful poll of the target; 0 if none "
           "has succeeded yet.",
           t, r.stats.last_success_unix);
  w->Gauge("pgconn_poll_interval_seconds",
           "Configured time between two polls of the target.", t,
           poll_interval_seconds);
  if (!r.snapshot) return;
  for (const CollectorOutcome& c : r.snapshot->collectors) {
    const Labels l = WithLabel(t, "collector", c.name);
    w->Gauge("pgconn_collector_success",
             "1 if the collector succeeded in the last successful poll.", l,
             c.success ? 1 : 0);
    w->Gauge("pgconn_collector_duration_seconds",
             "Time spent on the collector's statement in the last "
             "successful poll: by the server's clock when statements are "
             "batched, the round trip when run alone.",
             l, c.duration_seconds);
  }
}

}  // namespace

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
    case StatusCode::kIoError:
      // The only file a poll reads: the target's password_file.
      return "password_file";
    default:
      return "internal";
  }
}

TargetPipeline::TargetPipeline(const TargetConfig& target,
                               ExportSettings settings)
    : target_(target.name),
      labels_({{"target", target.name}}),
      settings_(std::move(settings)),
      collectors_(EnabledCollectors(target.kind == TargetKind::kPgBouncer
                                        ? PgBouncerCollectors()
                                        : PostgresCollectors(),
                                    settings_.collectors)),
      stages_(StagesFor(target, settings_)) {
  Derive(&empty_);
}

std::vector<const Collector*> TargetPipeline::CollectorsFor(
    int server_version_num) const {
  std::vector<const Collector*> out;
  for (const auto& c : collectors_) {
    if (c->Supports(server_version_num)) out.push_back(c.get());
  }
  return out;
}

void TargetPipeline::Derive(Snapshot* snap) const {
  for (const auto& stage : stages_) stage->Derive(snap);
}

ExpositionPart TargetPipeline::Render(const TargetReport& report) const {
  // One writer per poll thread, used again by every poll on it: a part
  // then costs a few allocations (metrics_writer.h), and a fleet's few
  // poll threads keep a few writers, not one per target.
  thread_local MetricsWriter w;
  w.Clear();  // what a poll that threw half-way left
  AppendTargetStatus(report, labels_, settings_.poll_interval_seconds, &w);
  const Snapshot& snap = report.snapshot ? *report.snapshot : empty_;
  for (const auto& c : collectors_) {
    if (const Observation* o = snap.Get(c->name())) c->Emit(*o, labels_, &w);
  }
  const EmitContext ctx{labels_, report.up};
  for (const auto& stage : stages_) stage->Emit(snap, ctx, &w);
  if (report.server_log) EmitServerLogMetrics(*report.server_log, labels_, &w);
  if (settings_.carried.mirrored) settings_.carried.mirrored->Apply(&w);
  return w.TakePart();
}

void TargetPipeline::StampPollDuration(double seconds,
                                       ExpositionPart* part) const {
  MetricsWriter w;
  AppendPollDuration(seconds, labels_, &w);
  const ExpositionPart one = w.TakePart();
  if (one.families.size() != 1) return;
  const ExpositionPart::Family& stamp = one.families[0];
  for (size_t i = 0; i < part->families.size(); ++i) {
    if (part->families[i].name() != stamp.name()) continue;
    part->Replace(i, one.samples(stamp));
    return;
  }
}

std::vector<std::string> MirroredCounterPrefixes() {
  return {"pgconn_database_", "pgconn_pgbouncer_"};
}

BuildInfo CurrentBuildInfo() { return {PGCONN_VERSION, PGCONN_REVISION}; }

ExpositionPart RenderBuildInfo(const BuildInfo& build) {
  MetricsWriter w;
  w.Gauge("pgconn_build_info",
          "Always 1; labels give the pgconn version and source revision.",
          {{"version", build.version}, {"revision", build.revision}}, 1);
  return w.TakePart();
}

}  // namespace pgconn
