// The polling loop of one target, and the small pieces it is made of.
#ifndef PGCONN_AGENT_RUNTIME_POLLER_H_
#define PGCONN_AGENT_RUNTIME_POLLER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collect/collector.h"
#include "pgconn/clock.h"
#include "pgconn/config.h"
#include "pgconn/log.h"
#include "pgconn/session.h"
#include "pgconn/thread_guard.h"
#include "runtime/publisher.h"
#include "runtime/report.h"
#include "runtime/target_pipeline.h"

namespace pgconn {

// A stop flag that sleeping threads wake up for. Thread-safe.
class StopSignal {
 public:
  void Stop();
  bool stopped() const { return stopped_.load(); }
  // Sleeps up to `d`; returns true if stopped (now or while sleeping).
  bool WaitFor(std::chrono::steady_clock::duration d);
  const std::atomic<bool>* flag() const { return &stopped_; }

 private:
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

// Capped exponential backoff with jitter: initial, 2x, 4x ... up to `max`,
// each multiplied by a factor in [0.9, 1.1). Not thread-safe.
class Backoff {
 public:
  // `uniform` returns numbers in [0, 1); injected for deterministic tests.
  Backoff(Duration initial, Duration max, std::function<double()> uniform);
  Duration Next();
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  const Duration initial_;
  const Duration max_;
  std::function<double()> uniform_;
  int failures_ = 0;
};

struct PollerOptions {
  Duration poll_interval{5000};
  Duration connect_timeout{5000};
  Duration query_timeout{5000};
  Duration backoff_max{30000};
  double near_limit_threshold = 0.8;
  CollectorContext collector_context;
  // Collector switches of the whole agent (flags and the file's top-level
  // `collectors:`); a target's own `collectors:` refine them.
  CollectorSwitches collectors;
  Duration peak_window{60000};  // a target's own peak_window comes first
  // What the threads a poller starts (its server log follower) call when
  // they end unexpectedly; unset: ExitOnThreadFailure(logger).
  ThreadFailureHandler on_thread_failure;
};
PollerOptions PollerOptionsFrom(const Config& config);

// A target's counters, kept by the agent across the pollers it builds for
// that target: a reload that changes the target, or the polling settings,
// replaces its poller, and the new one goes on from here, so that no
// counter of the target goes down before the agent restarts (a target
// removed and added back goes on too). Used by one poller at a time: the
// agent joins a poller's thread before it builds the next.
// The counters the pipeline shares (opened, mirrored) are in the same
// CarriedState (runtime/target_pipeline.h).
struct TargetCounters {
  uint64_t polls_total = 0;
  std::map<std::string, uint64_t> errors_total;  // by reason
  std::optional<ServerLogCounts> server_log;     // the last follower's
};

// Polls one target over one persistent session and publishes a report after
// every poll. PollOnce() and Run() must not be called concurrently; the
// poller is owned by one thread.
class TargetPoller {
 public:
  // `carried` (null members: its own) is the target's state that outlives
  // the poller: its counters go on from there and are left there when the
  // poller is destroyed.
  TargetPoller(TargetConfig target, PollerOptions options,
               const SessionFactory& sessions, const Clock& clock,
               const Logger& logger, Publisher* publisher,
               const std::atomic<bool>* interrupt = nullptr,
               CarriedState carried = {});
  ~TargetPoller();
  TargetPoller(const TargetPoller&) = delete;
  TargetPoller& operator=(const TargetPoller&) = delete;

  // One poll: connect if needed, run the collectors, derive the signals,
  // serialize this target's part of the exposition once and publish it.
  // Returns the published report.
  TargetReport PollOnce();

  // Publishes the report the target starts with, before its first poll.
  void PublishInitial();

  // Polls every interval (start to start) until `stop`, failing or not;
  // while a target keeps failing, the reminders in the log are spaced by
  // capped exponential backoff. Returns only when stopped; the thread that
  // runs it treats any other end as fatal (RunPollerThread).
  void Run(StopSignal* stop);

  // One step of Run(): a poll (with the poller fault site), then how long
  // to wait before the next one starts (one interval after this one
  // started). For a scheduler that runs many pollers on a few threads.
  Duration PollAndWait();
  // What Run() does once stopped: closes the session. Not while a poll runs.
  void Finish();

 private:
  void OnFailure(const Status& s);
  void LogCollectorChanges(const Snapshot& snap);
  void LogBatchProblem(const std::string& problem);
  bool interrupted() const {
    return interrupt_ != nullptr && interrupt_->load();
  }

  const TargetConfig target_;
  const PollerOptions options_;
  const Clock& clock_;
  const Logger& logger_;
  Publisher* publisher_;
  const std::atomic<bool>* interrupt_;
  const CarriedState carried_;
  const std::shared_ptr<TargetCounters> counters_;  // carried_.counters
  const TargetPipeline pipeline_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<ServerLogFollower> server_log_;  // its own thread
  TargetReport report_;
  Backoff backoff_;  // spaces the "poll still failing" reminders
  std::chrono::steady_clock::time_point next_failure_log_{};
  std::string logged_state_;  // last state logged, to log changes only
  std::set<std::string> failing_collectors_;
  std::string logged_batch_problem_;
  // The server time of the last activity scan (CollectorContext).
  std::optional<int64_t> previous_scan_time_us_;
};

// The body of a poller's thread: Run() behind the thread barrier. An
// exception out of it, or a return before `stop` was set, goes to
// `on_failure` with the thread named "poller:TARGET".
void RunPollerThread(TargetPoller* poller, StopSignal* stop,
                     const std::string& target,
                     const ThreadFailureHandler& on_failure);

// The export settings of `target` under `options`: the target's own
// collector switches over the agent's.
ExportSettings ExportSettingsFor(const TargetConfig& target,
                                 const PollerOptions& options);

}  // namespace pgconn

#endif  // PGCONN_AGENT_RUNTIME_POLLER_H_
