#include "serverlog/follower.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "postgres/observations.h"

namespace pgconn {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// At most this much per ReadAvailable(), so that a huge backlog does not
// keep the thread from seeing Stop().
constexpr size_t kMaxBytesPerRead = 16 * 1024 * 1024;

std::string_view FormatName(ServerLogFormat f) {
  switch (f) {
    case ServerLogFormat::kCsvlog:
      return "csvlog";
    case ServerLogFormat::kJsonlog:
      return "jsonlog";
    default:
      return "stderr";
  }
}

}  // namespace

void EmitServerLogMetrics(const ServerLogCounts& c, const Labels& t,
                          MetricsWriter* w) {
  w->Gauge("pgconn_server_log_up",
           "1 if the agent is reading the target's server log file "
           "(server_log:), 0 if it cannot open or read it.",
           t, c.up ? 1 : 0);
  w->Counter("pgconn_server_log_errors_total",
             "Times the server log file could not be opened or read "
             "(counted once per outage).",
             t, static_cast<double>(c.errors));
  w->Counter("pgconn_server_log_entries_total",
             "Log entries read from the server log file since the agent "
             "started, of every kind.",
             t, static_cast<double>(c.entries));
  for (size_t i = 0; i < kRefusalReasons.size(); ++i) {
    w->Counter("pgconn_connections_refused_total",
               "Connection attempts the server refused, counted from its log "
               "(FATAL by SQLSTATE 53300, 28P01/28000, 57P03, or by message): "
               "max_connections, reserved_slots, database_limit, role_limit, "
               "authentication, starting_up, shutting_down.",
               WithLabel(t, "reason", kRefusalReasons[i]),
               static_cast<double>(c.refused[i]));
  }
  for (size_t i = 0; i < kTerminationReasons.size(); ++i) {
    w->Counter("pgconn_sessions_terminated_total",
               "Sessions the server ended, counted from its log: "
               "idle_in_transaction_timeout (25P03), idle_session_timeout "
               "(57P05), administrator (57P01).",
               WithLabel(t, "reason", kTerminationReasons[i]),
               static_cast<double>(c.terminated[i]));
  }
  for (const auto& [app, n] : c.authorized) {
    w->Counter("pgconn_connections_authorized_total",
               "Sessions that got in, by application_name, counted from the "
               "server log (log_connections on, or with 'authorization' on "
               "PostgreSQL 18): a \"connection authorized\" line not followed "
               "by a FATAL of the same process that ends the login (reserved "
               "slots, limits); counted about 2 s after the line.",
               WithLabel(t, "application", app), static_cast<double>(n));
  }
}

ServerLogFollower::ServerLogFollower(ServerLogConfig config,
                                     int max_applications, const Logger& logger,
                                     const Clock* clock,
                                     const ServerLogCounts& initial)
    : config_(std::move(config)),
      logger_(logger),
      clock_(clock != nullptr ? clock : &system_clock_),
      authorized_(static_cast<size_t>(std::max(max_applications, 0)),
                  std::string(kOtherLabel)) {
  {
    MutexLock lock(&mu_);
    counts_ = initial;
    counts_.up = false;
    counts_.authorizations_pending = 0;
    for (const auto& [app, n] : initial.authorized) authorized_.Add(app, n);
    counts_.authorized.clear();
  }
  if (config_.format == ServerLogFormat::kStderr) {
    auto p = StderrPrefix::Compile(config_.log_line_prefix);
    if (p.ok()) {
      prefix_ = std::move(*p);
    } else {
      status_ = p.status();
    }
  }
}

ServerLogFollower::~ServerLogFollower() {
  Stop();
  CloseFile();
}

void ServerLogFollower::Start(std::chrono::milliseconds period,
                              ThreadFailureHandler on_failure) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, period, on_failure = std::move(on_failure)] {
    const std::string name = "log_follower:" + config_.path;
    RunGuarded(name, on_failure, [&] {
      std::unique_lock<std::mutex> lock(stop_mu_);
      while (!stopping_) {
        lock.unlock();
        ReadAvailable();
        if (FaultInjected("log_follower")) {
          throw std::runtime_error("injected fault (PGCONN_INTERNAL_FAULT)");
        }
        lock.lock();
        stop_cv_.wait_for(lock, period, [this] { return stopping_; });
      }
    });
  });
}

void ServerLogFollower::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ServerLogCounts ServerLogFollower::Counts() const {
  MutexLock lock(&mu_);
  ServerLogCounts c = counts_;
  c.authorized = authorized_.Values();
  return c;
}

void ServerLogFollower::CloseFile() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  lines_.Reset();
  csv_.Reset();
}

void ServerLogFollower::Lost(std::string_view why, int err) {
  const bool first = !failing_;
  failing_ = true;
  MutexLock lock(&mu_);
  counts_.up = false;
  if (!first) return;
  ++counts_.errors;
  logger_.Warn("server log unreadable", {{"path", config_.path},
                                         {"op", std::string(why)},
                                         {"err", std::strerror(err)}});
}

void ServerLogFollower::OpenIfNeeded(bool at_end) {
  if (fd_ >= 0) return;
  const int fd = ::open(config_.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Lost("open", errno);
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    Lost("stat", err);
    return;
  }
  fd_ = fd;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  offset_ = at_end ? st.st_size : 0;
  if (at_end) ::lseek(fd_, offset_, SEEK_SET);
}

void ServerLogFollower::MarkUp() {
  if (failing_ || !announced_) {
    logger_.Info("server log followed",
                 {{"path", config_.path},
                  {"format", std::string(FormatName(config_.format))}});
  }
  failing_ = false;
  announced_ = true;
  MutexLock lock(&mu_);
  counts_.up = true;
}

void ServerLogFollower::Drain() {
  char buf[kReadChunk];
  size_t total = 0;
  while (fd_ >= 0 && total < kMaxBytesPerRead) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      CloseFile();
      Lost("read", err);
      return;
    }
    if (n == 0) return;
    offset_ += n;
    total += static_cast<size_t>(n);
    Consume(std::string_view(buf, static_cast<size_t>(n)));
  }
}

void ServerLogFollower::ReadAvailable() {
  if (!status_.ok()) return;
  ReadFile();
  CommitExpired();
}

void ServerLogFollower::ReadFile() {
  // Only the file there at start is read from its end; one that appears
  // later is new and read from its start.
  const bool first_attempt = !attempted_;
  attempted_ = true;
  OpenIfNeeded(/*at_end=*/first_attempt);
  if (fd_ < 0) return;
  Drain();
  if (fd_ < 0) return;
  MarkUp();
  struct stat st {};
  if (::stat(config_.path.c_str(), &st) != 0) {
    // Renamed away and not yet replaced: keep reading the old file.
    return;
  }
  if (st.st_dev != dev_ || st.st_ino != ino_) {
    Drain();  // what was written to the old file before the switch
    CloseFile();
    OpenIfNeeded(/*at_end=*/false);
    Drain();
    return;
  }
  if (st.st_size < offset_) {
    // Truncated in place (copytruncate): start again from the top.
    lines_.Reset();
    csv_.Reset();
    offset_ = 0;
    ::lseek(fd_, 0, SEEK_SET);
    Drain();
  }
}

void ServerLogFollower::Consume(std::string_view bytes) {
  switch (config_.format) {
    case ServerLogFormat::kCsvlog:
      csv_.Feed(bytes, [this](const std::vector<std::string>& fields) {
        if (auto e = CsvRecordToEntry(fields)) Count(*e);
      });
      return;
    case ServerLogFormat::kJsonlog:
      lines_.Feed(bytes, [this](std::string_view line, bool truncated) {
        if (truncated) return;  // a cut object cannot be parsed
        if (auto e = ParseJsonLogLine(line)) Count(*e);
      });
      return;
    case ServerLogFormat::kStderr:
      lines_.Feed(bytes, [this](std::string_view line, bool) {
        if (auto e = prefix_->Parse(line)) Count(*e);
      });
      return;
  }
}

void ServerLogFollower::Commit(const std::string& application) {
  authorized_.Add(application, 1);
}

void ServerLogFollower::Settle(const LogEntry& entry, const LogEvent& ev) {
  if (ev.kind == LogEventKind::kAuthorized) {
    if (pending_.size() >= kMaxPendingAuthorizations) {
      MutexLock lock(&mu_);
      Commit(pending_.front().application);
      pending_.pop_front();
    }
    std::string app = ev.application.empty()
                          ? std::string(kUnsetApplication)
                          : BoundedLabelValue(ev.application, kMaxLogName);
    pending_.push_back({entry.pid, entry.user, entry.database, std::move(app),
                        clock_->Monotonic()});
    return;
  }
  if (pending_.empty()) return;
  const bool ends_login = EndsAnAuthorizedLogin(entry);
  // The pending login of this entry's process: by pid, the newest first;
  // where the format has no pid, a FATAL that ends a login takes the
  // newest of the same user and database (it follows its own line within
  // microseconds, so the newest is almost always it; a wrong guess only
  // moves one count between applications).
  auto it = pending_.end();
  for (auto p = pending_.rbegin(); p != pending_.rend(); ++p) {
    const bool same =
        !entry.pid.empty()
            ? p->pid == entry.pid
            : ends_login && (entry.user.empty() || p->user == entry.user) &&
                  (entry.database.empty() || p->database == entry.database);
    if (same) {
      it = std::next(p).base();
      break;
    }
  }
  if (it == pending_.end()) return;
  if (!ends_login) {
    // Anything else from that process (a statement, a termination...):
    // the session is in.
    MutexLock lock(&mu_);
    Commit(it->application);
  }
  pending_.erase(it);
}

void ServerLogFollower::CommitExpired() {
  const auto now = clock_->Monotonic();
  MutexLock lock(&mu_);
  while (!pending_.empty() &&
         now - pending_.front().read_at >= kAuthorizationVerdictDelay) {
    Commit(pending_.front().application);
    pending_.pop_front();
  }
  counts_.authorizations_pending = pending_.size();
}

void ServerLogFollower::Count(const LogEntry& entry) {
  const LogEvent ev = ClassifyLogEntry(entry);
  Settle(entry, ev);
  MutexLock lock(&mu_);
  ++counts_.entries;
  auto index_of = [](auto& reasons, std::string_view r) {
    for (size_t i = 0; i < reasons.size(); ++i) {
      if (reasons[i] == r) return i;
    }
    return reasons.size();
  };
  switch (ev.kind) {
    case LogEventKind::kRefused:
      if (auto i = index_of(kRefusalReasons, ev.reason);
          i < kRefusalReasons.size()) {
        ++counts_.refused[i];
      }
      return;
    case LogEventKind::kTerminated:
      if (auto i = index_of(kTerminationReasons, ev.reason);
          i < kTerminationReasons.size()) {
        ++counts_.terminated[i];
      }
      return;
    case LogEventKind::kAuthorized:  // counted once settled
      return;
    case LogEventKind::kNone:
      return;
  }
}

}  // namespace pgconn
