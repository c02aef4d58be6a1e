#include "pgconn/agent.h"

#include <sstream>
#include <thread>
#include <vector>

#include "config/dsn.h"
#include "pgbouncer/registry.h"
#include "postgres/registry.h"
#include "runtime/poller.h"
#include "runtime/publisher.h"
#include "runtime/target_pipeline.h"
#include "serverlog/log_entry.h"

namespace pgconn {

class Agent::Impl {
 public:
  Impl(const Config& config, const SessionFactory& sessions, const Clock& clock,
       const Logger& logger)
      : targets_(config.targets),
        publisher_(RenderBuildInfo(CurrentBuildInfo())) {
    const PollerOptions o = PollerOptionsFrom(config);
    for (const auto& t : config.targets) {
      pollers_.push_back(std::make_unique<TargetPoller>(
          t, o, sessions, clock, logger, &publisher_, stop_.flag()));
      pollers_.back()->PublishInitial();
    }
  }

  const std::vector<TargetConfig> targets_;
  StopSignal stop_;
  Publisher publisher_;
  std::vector<std::unique_ptr<TargetPoller>> pollers_;
  std::vector<std::thread> threads_;
};

Agent::Agent(const Config& config, const SessionFactory& sessions,
             const Clock& clock, const Logger& logger)
    : impl_(std::make_unique<Impl>(config, sessions, clock, logger)) {}

Agent::~Agent() { Stop(); }

const ExpositionSource& Agent::publisher() const { return impl_->publisher_; }

void Agent::LogTargets(const Logger& logger) const {
  for (const auto& t : impl_->targets_) {
    logger.Info("target configured",
                {{"target", t.name},
                 {"type", std::string(TargetKindName(t.kind))},
                 {"dsn", DescribeTarget(t)},
                 {"origin", t.origin}});
  }
}

void Agent::Start() {
  for (auto& p : impl_->pollers_) {
    TargetPoller* poller = p.get();
    StopSignal* stop = &impl_->stop_;
    impl_->threads_.emplace_back([poller, stop] { poller->Run(stop); });
  }
}

void Agent::Stop() {
  impl_->stop_.Stop();
  for (auto& t : impl_->threads_) {
    if (t.joinable()) t.join();
  }
  impl_->threads_.clear();
}

bool Agent::PollAllOnce() {
  bool all_up = true;
  for (auto& p : impl_->pollers_) all_up = p->PollOnce().up && all_up;
  return all_up;
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
