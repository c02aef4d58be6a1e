#include "runtime/poller.h"

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>

#include "config/dsn.h"
#include "postgres/observations.h"

namespace pgconn {
namespace {

// The client waits this much longer than statement_timeout, so that the
// server's own timeout fires first and the connection survives it.
constexpr Duration kClientGrace{1000};

// How often the server log follower looks for new lines: well under any
// poll interval, so a poll exports what the log said a moment before.
constexpr std::chrono::milliseconds kServerLogReadPeriod{200};

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// A jitter needs no more than a small generator: a Mersenne Twister keeps
// 2.5 KB of state per target (1.2 MiB of a 500-target agent).
std::function<double()> DefaultUniform() {
  auto rng = std::make_shared<std::minstd_rand>(std::random_device{}());
  return [rng]() {
    return std::uniform_real_distribution<double>(0.0, 1.0)(*rng);
  };
}

size_t MaxApplications(const PollerOptions& options) {
  return static_cast<size_t>(
      std::max(options.collector_context.max_applications, 0));
}

// The target's state that outlives the poller: each piece the agent did not
// give is created here, and the opened counts take this configuration.
CarriedState Completed(CarriedState c, const TargetConfig& target,
                       const PollerOptions& options) {
  std::set<std::string, std::less<>> pinned;
  for (const PoolDeclaration& p : target.pools) pinned.insert(p.application);
  if (!c.opened) {
    c.opened = std::make_shared<OpenedCounts>(MaxApplications(options), pinned);
  } else {
    c.opened->Configure(MaxApplications(options), pinned);
  }
  if (!c.mirrored) {
    c.mirrored = std::make_shared<MonotonicCounters>(MirroredCounterPrefixes());
  }
  if (!c.counters) c.counters = std::make_shared<TargetCounters>();
  return c;
}

ExportSettings WithState(ExportSettings s, const Clock& clock,
                         const CarriedState& carried,
                         const PollerOptions& options) {
  s.clock = &clock;
  s.carried = carried;
  s.max_applications = MaxApplications(options);
  return s;
}

}  // namespace

void StopSignal::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_.store(true);
  }
  cv_.notify_all();
}

bool StopSignal::WaitFor(std::chrono::steady_clock::duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, d, [this] { return stopped_.load(); });
}

Backoff::Backoff(Duration initial, Duration max,
                 std::function<double()> uniform)
    : initial_(initial),
      max_(std::max(max, initial)),
      uniform_(uniform ? std::move(uniform) : DefaultUniform()) {}

Duration Backoff::Next() {
  const int shift = std::min(failures_, 20);
  ++failures_;
  const double base =
      std::min(static_cast<double>(initial_.count()) * (1LL << shift),
               static_cast<double>(max_.count()));
  const double jitter = 0.9 + 0.2 * uniform_();
  return Duration(static_cast<int64_t>(base * jitter));
}

PollerOptions PollerOptionsFrom(const Config& c) {
  PollerOptions o;
  o.poll_interval = c.poll_interval;
  o.connect_timeout = c.connect_timeout;
  o.query_timeout = c.query_timeout;
  o.backoff_max = c.backoff_max;
  o.near_limit_threshold = c.near_limit_threshold;
  o.collector_context.max_applications = c.max_applications;
  o.collector_context.max_users = c.max_users;
  o.collector_context.max_databases = c.max_databases;
  o.collectors = c.collectors;
  o.peak_window = c.peak_window;
  return o;
}

ExportSettings ExportSettingsFor(const TargetConfig& target,
                                 const PollerOptions& options) {
  ExportSettings s;
  s.poll_interval_seconds = Seconds(options.poll_interval);
  s.near_limit_threshold = options.near_limit_threshold;
  s.peak_window = target.peak_window.value_or(options.peak_window);
  for (const auto& [name, sw] : options.collectors) {
    s.collectors[name] = sw.enabled;
  }
  for (const auto& [name, sw] : target.collectors) {
    s.collectors[name] = sw.enabled;
  }
  return s;
}

TargetPoller::TargetPoller(TargetConfig target, PollerOptions options,
                           const SessionFactory& sessions, const Clock& clock,
                           const Logger& logger, Publisher* publisher,
                           const std::atomic<bool>* interrupt,
                           CarriedState carried)
    : target_(std::move(target)),
      options_(options),
      clock_(clock),
      logger_(logger),
      publisher_(publisher),
      interrupt_(interrupt),
      carried_(Completed(std::move(carried), target_, options_)),
      counters_(carried_.counters),
      pipeline_(target_, WithState(ExportSettingsFor(target_, options_), clock,
                                   carried_, options_)),
      backoff_(options_.poll_interval, options_.backoff_max, nullptr) {
  report_.stats.polls_total = counters_->polls_total;
  report_.stats.errors_total = counters_->errors_total;
  SessionOptions so;
  so.connect_timeout = options_.connect_timeout;
  so.statement_timeout = options_.query_timeout;
  so.interrupt = interrupt;
  session_ = sessions.Create(target_, so);
  report_.target = target_.name;
  report_.kind = target_.kind;
  if (target_.server_log && target_.kind == TargetKind::kPostgres) {
    // Its counts go on from the previous follower's, if any.
    server_log_ = std::make_unique<ServerLogFollower>(
        *target_.server_log, options_.collector_context.max_applications,
        logger_, nullptr, counters_->server_log.value_or(ServerLogCounts{}));
    // Positions at the end of the file now, then follows it.
    server_log_->ReadAvailable();
    server_log_->Start(kServerLogReadPeriod,
                       options_.on_thread_failure
                           ? options_.on_thread_failure
                           : ExitOnThreadFailure(logger_));
    report_.server_log = server_log_->Counts();
  }
}

TargetPoller::~TargetPoller() {
  // What the next poller of this target goes on from.
  counters_->polls_total = report_.stats.polls_total;
  counters_->errors_total = report_.stats.errors_total;
  if (server_log_) {
    server_log_->Stop();
    counters_->server_log = server_log_->Counts();
  }
}

void TargetPoller::PublishInitial() {
  if (publisher_ != nullptr) {
    publisher_->Publish(report_, pipeline_.Render(report_));
  }
}

TargetReport TargetPoller::PollOnce() {
  const auto start = clock_.Monotonic();
  ++report_.stats.polls_total;
  Status status;
  Snapshot snap;
  if (!session_->connected()) {
    status = session_->Connect(start + options_.connect_timeout);
    if (status.ok()) {
      logger_.Debug(
          "connected",
          {{"target", target_.name},
           {"server_version", std::to_string(session_->server_version())}});
    }
  }
  if (status.ok()) {
    CollectorContext ctx = options_.collector_context;
    for (const PoolDeclaration& pool : target_.pools) {
      ctx.pinned_applications.push_back(pool.application);
    }
    ctx.server_version_num = session_->server_version();
    ctx.previous_scan_time_us = previous_scan_time_us_;
    RunOptions run;
    run.batch = target_.kind == TargetKind::kPostgres;
    run.tag = run.batch;
    std::string batch_problem;
    status = RunCollectors(
        *session_, pipeline_.CollectorsFor(ctx.server_version_num), ctx, run,
        clock_.Monotonic() + options_.query_timeout + kClientGrace, clock_,
        &snap, &batch_problem);
    if (status.ok()) LogBatchProblem(batch_problem);
  }
  if (!status.ok() && interrupted()) {
    // Stopped during the poll (SIGTERM, a reload removing the target): not
    // the target's fault, so no error is counted, logged or published.
    return report_;
  }
  report_.stats.attempted = true;
  if (status.ok()) {
    report_.up = true;
    report_.stats.last_success_unix = ToUnixSeconds(clock_.Now());
    LogCollectorChanges(snap);
    // The next poll counts the connections opened since this scan, by the
    // server's clock; a poll without one keeps the last.
    if (const auto* a = snap.Find<Activity>();
        a != nullptr && a->scan_time_us) {
      previous_scan_time_us_ = a->scan_time_us;
    }
    pipeline_.Derive(&snap);
    report_.snapshot = std::make_shared<const Snapshot>(std::move(snap));
    if (logged_state_ != "up") {
      logger_.Info(
          "target reachable",
          {{"target", target_.name},
           {"dsn", DescribeTarget(target_)},
           {"server_version", std::to_string(session_->server_version())}});
      logged_state_ = "up";
    }
  } else {
    OnFailure(status);
  }
  if (server_log_) report_.server_log = server_log_->Counts();
  // The whole poll, serialization included, up to publishing.
  ExpositionPart part = pipeline_.Render(report_);
  report_.stats.last_duration_seconds = Seconds(clock_.Monotonic() - start);
  pipeline_.StampPollDuration(report_.stats.last_duration_seconds, &part);
  if (publisher_ != nullptr) publisher_->Publish(report_, std::move(part));
  return report_;
}

void TargetPoller::LogBatchProblem(const std::string& problem) {
  if (problem == logged_batch_problem_) return;
  if (problem.empty()) {
    logger_.Info("batch recovered", {{"target", target_.name}});
  } else {
    logger_.Warn("batch split", {{"target", target_.name}, {"err", problem}});
  }
  logged_batch_problem_ = problem;
}

void TargetPoller::OnFailure(const Status& s) {
  report_.up = false;
  const std::string reason(PollErrorReason(s.code()));
  ++report_.stats.errors_total[reason];
  const std::string state = "down:" + reason;
  const auto now = clock_.Monotonic();
  if (logged_state_ != state) {
    // Once per change of state, not once per poll.
    logger_.Warn("poll failed", {{"target", target_.name},
                                 {"dsn", DescribeTarget(target_)},
                                 {"reason", reason},
                                 {"err", RedactSecrets(s.message(), target_)}});
    logged_state_ = state;
    backoff_.Reset();
    next_failure_log_ = now + backoff_.Next();
  } else if (now >= next_failure_log_) {
    // The backoff spaces these reminders, never the attempts themselves.
    logger_.Warn("poll still failing",
                 {{"target", target_.name},
                  {"reason", reason},
                  {"failed_polls", std::to_string(backoff_.failures())}});
    next_failure_log_ = now + backoff_.Next();
  }
}

void TargetPoller::LogCollectorChanges(const Snapshot& snap) {
  for (const CollectorOutcome& c : snap.collectors) {
    const bool was_failing = failing_collectors_.count(c.name) > 0;
    if (!c.success && !was_failing) {
      logger_.Warn(
          "collector failed",
          {{"target", target_.name}, {"collector", c.name}, {"err", c.error}});
      failing_collectors_.insert(c.name);
    } else if (c.success && was_failing) {
      logger_.Info("collector recovered",
                   {{"target", target_.name}, {"collector", c.name}});
      failing_collectors_.erase(c.name);
    }
  }
}

Duration TargetPoller::PollAndWait() {
  const auto start = clock_.Monotonic();
  PollOnce();
  if (FaultInjected("poller")) {
    throw std::runtime_error("injected fault (PGCONN_INTERNAL_FAULT)");
  }
  // Up or down, the next attempt starts one interval after this one
  // started: a failed target is retried once per interval (one
  // connection attempt at a time, never more often), so that it is seen
  // up again within two intervals of the database accepting connections.
  const auto elapsed =
      std::chrono::duration_cast<Duration>(clock_.Monotonic() - start);
  return std::max(Duration(0), options_.poll_interval - elapsed);
}

void TargetPoller::Finish() { session_->Close(); }

void TargetPoller::Run(StopSignal* stop) {
  while (!stop->stopped()) {
    if (stop->WaitFor(PollAndWait())) break;
  }
  Finish();
}

void RunPollerThread(TargetPoller* poller, StopSignal* stop,
                     const std::string& target,
                     const ThreadFailureHandler& on_failure) {
  const std::string name = "poller:" + target;
  if (RunGuarded(name, on_failure, [&] { poller->Run(stop); }) &&
      !stop->stopped()) {
    on_failure(name, "the polling loop returned without being stopped");
  }
}

}  // namespace pgconn
