// Everything one target's polls go through after the database answered:
// its collectors (the registry's, switched on or off by configuration), the
// signal stages of its kind with the target's export settings, and the
// serialization of its part of the exposition. Built once at start-up.
#ifndef PGCONN_AGENT_RUNTIME_TARGET_PIPELINE_H_
#define PGCONN_AGENT_RUNTIME_TARGET_PIPELINE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collect/collector.h"
#include "expose/exposition_part.h"
#include "expose/monotonic_counters.h"
#include "pgconn/config.h"
#include "postgres/opened_stage.h"
#include "runtime/report.h"

namespace pgconn {

class PoolEvidenceLedger;
class UsedHistoryBuffer;
struct TargetCounters;

// State of a target that outlives its pipeline: the agent keeps one per
// target name while it runs, so that a reload that rebuilds the target's
// pipeline (a changed declaration, a changed connection) keeps the
// evidence counters, the busy peaks and the status page's history. Null
// members: the pipeline keeps its own.
struct CarriedState {
  std::shared_ptr<PoolEvidenceLedger> pool_evidence;
  std::shared_ptr<UsedHistoryBuffer> used_history;
  // pgconn_connections_opened_total's counts, and the offsets that keep the
  // counters mirrored from the server (MonotonicCounters) from going down.
  std::shared_ptr<OpenedCounts> opened;
  std::shared_ptr<MonotonicCounters> mirrored;
  // The poller's own counters (polls, errors, the server log's counts):
  // runtime/poller.h. The pipeline does not read them.
  std::shared_ptr<TargetCounters> counters;
};

// What the exposition of a target needs from the configuration.
struct ExportSettings {
  double poll_interval_seconds = 5;
  double near_limit_threshold = 0.8;
  // Collector name -> on/off, over the registry's defaults.
  std::map<std::string, bool, std::less<>> collectors;
  // The *_peak gauges' window, and the clock that times it (null: the
  // system clock).
  Duration peak_window{60000};
  const Clock* clock = nullptr;
  CarriedState carried;
  size_t max_applications = 50;  // for a `carried.opened` of its own
};

// The families mirrored from a server's statistics (MonotonicCounters):
// pg_stat_database's session counters, PgBouncer's SHOW STATS totals.
std::vector<std::string> MirroredCounterPrefixes();

// Immutable after construction, so thread-safe.
class TargetPipeline {
 public:
  TargetPipeline(const TargetConfig& target, ExportSettings settings);
  TargetPipeline(const TargetPipeline&) = delete;
  TargetPipeline& operator=(const TargetPipeline&) = delete;

  // The enabled collectors that apply to a server of that version, in
  // registry order.
  std::vector<const Collector*> CollectorsFor(int server_version_num) const;

  // Runs every signal stage on a snapshot fresh from the collectors.
  void Derive(Snapshot* snap) const;

  // The target's part of the exposition: its pgconn_up and poll counters,
  // then each collector's and each stage's families from the report's
  // snapshot (or from an empty one before the first success).
  ExpositionPart Render(const TargetReport& report) const;

  // Sets the pgconn_poll_duration_seconds sample of `part`, a result of
  // Render(), to `seconds`: a poll's duration includes rendering its part,
  // so it is known only once the part is serialized.
  void StampPollDuration(double seconds, ExpositionPart* part) const;

 private:
  const std::string target_;
  const LabelPrefix labels_;
  const ExportSettings settings_;
  std::vector<std::unique_ptr<Collector>> collectors_;
  std::vector<std::unique_ptr<SignalStage>> stages_;
  Snapshot empty_;  // what the stages derive from nothing
};

// The part shared by every target: pgconn_build_info.
struct BuildInfo {
  std::string version;
  std::string revision;
};
BuildInfo CurrentBuildInfo();
ExpositionPart RenderBuildInfo(const BuildInfo& build);

}  // namespace pgconn

#endif  // PGCONN_AGENT_RUNTIME_TARGET_PIPELINE_H_
