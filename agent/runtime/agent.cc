#include "pgconn/agent.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "config/dsn.h"
#include "expose/metrics_writer.h"
#include "pgbouncer/registry.h"
#include "pools/pool_evidence.h"
#include "postgres/registry.h"
#include "postgres/used_history.h"
#include "runtime/poll_scheduler.h"
#include "runtime/poller.h"
#include "runtime/publisher.h"
#include "runtime/target_pipeline.h"
#include "serverlog/log_entry.h"

namespace pgconn {

namespace {

bool SameCollectors(const CollectorSwitches& a, const CollectorSwitches& b) {
  if (a.size() != b.size()) return false;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
    if (i->first != j->first || i->second.enabled != j->second.enabled) {
      return false;
    }
  }
  return true;
}

bool SamePools(const std::vector<PoolDeclaration>& a,
               const std::vector<PoolDeclaration>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].application != b[i].application ||
        a[i].replicas != b[i].replicas || a[i].pool_min != b[i].pool_min ||
        a[i].pool_max != b[i].pool_max) {
      return false;
    }
  }
  return true;
}

// Everything a poller is built from, but not where it was written: moving a
// target down the file does not restart it.
bool SameTarget(const TargetConfig& a, const TargetConfig& b) {
  return a.name == b.name && a.kind == b.kind &&
         a.url.Reveal() == b.url.Reveal() && a.host == b.host &&
         a.port == b.port && a.user == b.user && a.dbname == b.dbname &&
         a.sslmode == b.sslmode && a.sslrootcert == b.sslrootcert &&
         a.password.Reveal() == b.password.Reveal() &&
         a.password_file == b.password_file && a.overhead == b.overhead &&
         SamePools(a.pools, b.pools) &&
         SameCollectors(a.collectors, b.collectors);
}

bool SameOptions(const PollerOptions& a, const PollerOptions& b) {
  const CollectorContext &x = a.collector_context, &y = b.collector_context;
  return a.poll_interval == b.poll_interval &&
         a.connect_timeout == b.connect_timeout &&
         a.query_timeout == b.query_timeout && a.backoff_max == b.backoff_max &&
         a.near_limit_threshold == b.near_limit_threshold &&
         x.max_applications == y.max_applications &&
         x.max_users == y.max_users && x.max_databases == y.max_databases &&
         SameCollectors(a.collectors, b.collectors);
}

ExpositionPart RenderReloadStatus(bool successful, double success_unix) {
  MetricsWriter w;
  w.Gauge("pgconn_config_last_reload_successful",
          "1 if the last configuration reload (SIGHUP) succeeded, or none was "
          "asked for; 0 if it was refused and the previous configuration "
          "still runs.",
          {}, successful ? 1 : 0);
  w.Gauge("pgconn_config_last_reload_success_timestamp_seconds",
          "Unix time of the last configuration that was loaded (at start-up "
          "or by a successful reload).",
          {}, success_unix);
  return w.TakePart();
}

}  // namespace

// One target's poller, its own stop signal (a reload stops it alone, and
// it interrupts the poll in flight) and its job on the agent's scheduler.
struct Agent::Runner {
  TargetConfig target;
  StopSignal stop;
  std::unique_ptr<TargetPoller> poller;
  ThreadFailureHandler on_failure;
  PollScheduler* scheduler = nullptr;
  std::optional<PollScheduler::JobId> job;

  void Start(PollScheduler* s) {
    scheduler = s;
    TargetPoller* p = poller.get();
    job = s->Add(
        "poller:" + target.name, [p] { return p->PollAndWait(); }, on_failure);
  }
  // Stops the polls, waits for the one in flight and closes the session.
  void Join() {
    stop.Stop();
    if (!job) return;
    scheduler->Remove(*job);
    job.reset();
    poller->Finish();
  }
};

class Agent::Impl {
 public:
  Impl(const Config& config, const SessionFactory& sessions, const Clock& clock,
       const Logger& logger, ThreadFailureHandler on_thread_failure)
      : sessions_(sessions),
        clock_(clock),
        logger_(logger),
        on_thread_failure_(on_thread_failure ? std::move(on_thread_failure)
                                             : ExitOnThreadFailure(logger)),
        publisher_(RenderBuildInfo(CurrentBuildInfo())) {
    MutexLock lock(&mu_);
    options_ = WithFailureHandler(PollerOptionsFrom(config));
    for (const auto& t : config.targets) runners_.push_back(NewRunner(t));
    last_success_unix_ = ToUnixSeconds(clock_.Now());
    publisher_.SetAgentPart(RenderReloadStatus(true, last_success_unix_));
  }

  // `publish_initial`: publish the target's empty report before its first
  // poll; not for a poller that replaces one of the same target, whose
  // last part stays published until the new one's first poll (otherwise
  // every series of the target would vanish for that moment).
  std::unique_ptr<Runner> NewRunner(const TargetConfig& t,
                                    bool publish_initial = true)
      PGCONN_REQUIRES(mu_) {
    auto r = std::make_unique<Runner>();
    r->target = t;
    r->on_failure = on_thread_failure_;
    // The target's counters and evidence go on from its previous poller's.
    r->poller = std::make_unique<TargetPoller>(t, options_, sessions_, clock_,
                                               logger_, &publisher_,
                                               r->stop.flag(), Carried(t.name));
    if (publish_initial) r->poller->PublishInitial();
    return r;
  }

  PollerOptions WithFailureHandler(PollerOptions o) const {
    o.on_thread_failure = on_thread_failure_;
    return o;
  }

  // The state of `target` that outlives its pollers, created on first use
  // (the poller sets what depends on its configuration). Kept for every
  // name the agent ever polled (names come from the configuration, not
  // from clients), so that a target removed and added back by reloads
  // keeps its counters too.
  CarriedState Carried(const std::string& target) PGCONN_REQUIRES(mu_) {
    CarriedState& c = carried_[target];
    if (!c.pool_evidence)
      c.pool_evidence = std::make_shared<PoolEvidenceLedger>();
    if (!c.used_history) c.used_history = std::make_shared<UsedHistoryBuffer>();
    if (!c.opened) {
      c.opened = std::make_shared<OpenedCounts>(
          0, std::set<std::string, std::less<>>{});
    }
    if (!c.mirrored) {
      c.mirrored =
          std::make_shared<MonotonicCounters>(MirroredCounterPrefixes());
    }
    if (!c.counters) c.counters = std::make_shared<TargetCounters>();
    return c;
  }

  const SessionFactory& sessions_;
  const Clock& clock_;
  const Logger& logger_;
  const ThreadFailureHandler on_thread_failure_;
  Publisher publisher_;
  // Held by Start, Stop, PollAllOnce and Reload: they never overlap.
  Mutex mu_;
  PollerOptions options_ PGCONN_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Runner>> runners_ PGCONN_GUARDED_BY(mu_);
  // Runs every runner's polls on a few threads (runtime/poll_scheduler.h),
  // from Start to Stop. Declared after runners_: gone before them.
  std::unique_ptr<PollScheduler> scheduler_ PGCONN_GUARDED_BY(mu_);
  // Its job that keeps a large exposition built (Publisher::Refresh).
  std::optional<PollScheduler::JobId> refresh_job_ PGCONN_GUARDED_BY(mu_);
  bool running_ PGCONN_GUARDED_BY(mu_) = false;
  bool stopped_ PGCONN_GUARDED_BY(mu_) = false;
  double last_success_unix_ PGCONN_GUARDED_BY(mu_) = 0;
  // By target name, for the life of the agent: one entry per name ever
  // configured, which the operator's files bound.
  std::map<std::string, CarriedState> carried_ PGCONN_GUARDED_BY(mu_);
};

Agent::Agent(const Config& config, const SessionFactory& sessions,
             const Clock& clock, const Logger& logger,
             ThreadFailureHandler on_thread_failure)
    : impl_(std::make_unique<Impl>(config, sessions, clock, logger,
                                   std::move(on_thread_failure))) {}

Agent::~Agent() { Stop(); }

const ExpositionSource& Agent::publisher() const { return impl_->publisher_; }

void Agent::LogTargets(const Logger& logger) const {
  MutexLock lock(&impl_->mu_);
  for (const auto& r : impl_->runners_) {
    const TargetConfig& t = r->target;
    logger.Info("target configured",
                {{"target", t.name},
                 {"type", std::string(TargetKindName(t.kind))},
                 {"dsn", DescribeTarget(t)},
                 {"origin", t.origin}});
  }
}

void Agent::Start() {
  MutexLock lock(&impl_->mu_);
  if (impl_->running_ || impl_->stopped_) return;
  impl_->running_ = true;
  impl_->scheduler_ =
      std::make_unique<PollScheduler>(impl_->on_thread_failure_);
  for (auto& r : impl_->runners_) r->Start(impl_->scheduler_.get());
  Publisher* publisher = &impl_->publisher_;
  impl_->refresh_job_ = impl_->scheduler_->Add(
      "exposition", [publisher] { return publisher->Refresh(); },
      impl_->on_thread_failure_);
}

void Agent::Stop() {
  MutexLock lock(&impl_->mu_);
  impl_->stopped_ = true;
  impl_->running_ = false;
  // Every stop flag first, so that the pollers wind down side by side.
  for (auto& r : impl_->runners_) r->stop.Stop();
  for (auto& r : impl_->runners_) r->Join();
  if (impl_->refresh_job_) impl_->scheduler_->Remove(*impl_->refresh_job_);
  impl_->refresh_job_.reset();
  impl_->scheduler_.reset();
}

bool Agent::PollAllOnce() {
  MutexLock lock(&impl_->mu_);
  bool all_up = true;
  for (auto& r : impl_->runners_) all_up = r->poller->PollOnce().up && all_up;
  return all_up;
}

Status Agent::Reload(const Config& config) {
  if (Status s = ValidateCollectorSwitches(config); !s.ok()) {
    ReloadFailed(s);
    return s;
  }
  Impl& d = *impl_;
  MutexLock lock(&d.mu_);
  if (d.stopped_) return Status(StatusCode::kUnavailable, "agent stopped");
  const PollerOptions options = d.WithFailureHandler(PollerOptionsFrom(config));
  const bool same_options = SameOptions(options, d.options_);
  d.options_ = options;
  // Which running pollers stay as they are; the others stop, all before
  // any new one connects, so the agent never holds more than one
  // connection per target, not even during a reload.
  std::vector<std::unique_ptr<Runner>> old = std::move(d.runners_);
  d.runners_.clear();
  std::map<std::string, std::unique_ptr<Runner>, std::less<>> kept;
  std::set<std::string, std::less<>> wanted;
  for (const TargetConfig& t : config.targets) wanted.insert(t.name);
  int changed = 0, removed = 0;
  std::set<std::string, std::less<>> replaced;
  for (auto& r : old) {
    const TargetConfig* next = nullptr;
    for (const TargetConfig& t : config.targets) {
      if (t.name == r->target.name) next = &t;
    }
    if (next != nullptr && same_options && SameTarget(r->target, *next)) {
      kept.emplace(r->target.name, std::move(r));
      continue;
    }
    r->stop.Stop();
    if (next != nullptr) {
      ++changed;
      replaced.insert(r->target.name);
    } else {
      ++removed;
    }
  }
  for (auto& r : old) {
    if (r == nullptr) continue;
    r->Join();
    if (wanted.count(r->target.name) == 0) d.publisher_.Remove(r->target.name);
  }
  old.clear();
  const int kept_count = static_cast<int>(kept.size());
  for (const TargetConfig& t : config.targets) {
    if (auto it = kept.find(t.name); it != kept.end()) {
      // The same poller, session and last snapshot.
      it->second->target.origin = t.origin;
      d.runners_.push_back(std::move(it->second));
      continue;
    }
    d.runners_.push_back(d.NewRunner(t, replaced.count(t.name) == 0));
    if (d.running_) d.runners_.back()->Start(d.scheduler_.get());
  }
  const int added =
      static_cast<int>(config.targets.size()) - kept_count - changed;
  d.last_success_unix_ = ToUnixSeconds(d.clock_.Now());
  d.publisher_.SetAgentPart(RenderReloadStatus(true, d.last_success_unix_));
  d.logger_.Info("configuration reloaded",
                 {{"targets", std::to_string(d.runners_.size())},
                  {"kept", std::to_string(kept_count)},
                  {"added", std::to_string(added)},
                  {"changed", std::to_string(changed)},
                  {"removed", std::to_string(removed)}});
  return Status::Ok();
}

void Agent::ReloadFailed(const Status& error) {
  Impl& d = *impl_;
  MutexLock lock(&d.mu_);
  d.publisher_.SetAgentPart(RenderReloadStatus(false, d.last_success_unix_));
  d.logger_.Error(
      "configuration reload refused, the previous one keeps running",
      {{"err", error.message()}});
}

std::string VersionLine() {
  const BuildInfo b = CurrentBuildInfo();
  return "pgconn-agent " + b.version + " (revision " + b.revision + ")";
}

namespace {

const std::vector<CollectorEntry>& TableOf(TargetKind kind) {
  return kind == TargetKind::kPgBouncer ? PgBouncerCollectors()
                                        : PostgresCollectors();
}

// A name a client of ours typed: quoted only when it is short and plain.
std::string Quoted(const std::string& name) {
  const bool plain =
      !name.empty() && name.size() <= 64 &&
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
          std::string::npos;
  return plain ? "\"" + name + "\"" : "(a name that is not a collector's)";
}

std::string KnownNames(const std::vector<CollectorEntry>& table) {
  std::string out;
  for (const CollectorEntry& e : table) {
    if (!out.empty()) out += ", ";
    out += e.name;
  }
  return out;
}

}  // namespace

Status ValidateCollectorSwitches(const Config& config) {
  for (const auto& [name, sw] : config.collectors) {
    if (FindCollectorEntry(PostgresCollectors(), name) == nullptr &&
        FindCollectorEntry(PgBouncerCollectors(), name) == nullptr) {
      return Status::InvalidArgument(
          sw.origin + ": unknown collector " + Quoted(name) +
          " (known: " + KnownNames(PostgresCollectors()) + ", " +
          KnownNames(PgBouncerCollectors()) + ")");
    }
  }
  for (const TargetConfig& t : config.targets) {
    const auto& table = TableOf(t.kind);
    for (const auto& [name, sw] : t.collectors) {
      if (FindCollectorEntry(table, name) == nullptr) {
        return Status::InvalidArgument(
            sw.origin + ": unknown collector " + Quoted(name) + " for a " +
            std::string(TargetKindName(t.kind)) +
            " target (known: " + KnownNames(table) + ")");
      }
    }
  }
  return Status::Ok();
}

Status ValidateServerLogs(const Config& config) {
  for (const TargetConfig& t : config.targets) {
    if (!t.server_log) continue;
    if (t.kind != TargetKind::kPostgres) {
      return Status::InvalidArgument(
          t.server_log->origin +
          ": \"server_log\" is for PostgreSQL targets only");
    }
    if (t.server_log->format != ServerLogFormat::kStderr) continue;
    if (auto p = StderrPrefix::Compile(t.server_log->log_line_prefix);
        !p.ok()) {
      return Status::InvalidArgument(t.server_log->origin + ": " +
                                     p.status().message());
    }
  }
  return Status::Ok();
}

std::string CollectorFlagsHelp() {
  std::ostringstream out;
  out << "Collectors: --collector.NAME turns one on, --no-collector.NAME "
         "off\n(also `collectors:` in the file, at the top and per target):\n";
  for (const auto* table : {&PostgresCollectors(), &PgBouncerCollectors()}) {
    for (const CollectorEntry& e : *table) {
      std::string flag = "  --collector." + std::string(e.name);
      flag.resize(std::max<size_t>(flag.size() + 1, 34), ' ');
      out << flag << "[" << (e.enabled_by_default ? "on" : "off") << "] "
          << e.help << "\n";
    }
  }
  return out.str();
}

}  // namespace pgconn
