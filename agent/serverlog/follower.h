// Follows one PostgreSQL server log file and counts what it says about
// connections (serverlog/log_entry.h): refusals, terminations, authorized
// connections by application.
#ifndef PGCONN_AGENT_SERVERLOG_FOLLOWER_H_
#define PGCONN_AGENT_SERVERLOG_FOLLOWER_H_

#include <sys/types.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "expose/metrics_writer.h"
#include "pgconn/clock.h"
#include "pgconn/config.h"
#include "pgconn/log.h"
#include "pgconn/thread_annotations.h"
#include "pgconn/thread_guard.h"
#include "serverlog/log_entry.h"
#include "util/folding_counters.h"

namespace pgconn {

// What the follower counted since the agent started. A value type.
struct ServerLogCounts {
  bool up = false;       // the file is open and being read
  uint64_t errors = 0;   // times the file could not be opened or read
  uint64_t entries = 0;  // log entries read (every kind)
  std::array<uint64_t, kRefusalReasons.size()> refused{};
  std::array<uint64_t, kTerminationReasons.size()> terminated{};
  // Sessions that got in, by application_name as logged ("(unset)" for
  // none): a "connection authorized" line not followed, for the same
  // process, by a FATAL that ends the login (EndsAnAuthorizedLogin).
  // At most max_applications names; when a new one needs a place, the
  // name seen least recently moves into "(other)" (FoldingCounters).
  std::map<std::string, uint64_t> authorized;
  // "connection authorized" lines still waiting for their verdict.
  uint64_t authorizations_pending = 0;
};

// How long a "connection authorized" line waits for a FATAL of the same
// process before it counts as a session that got in. PostgreSQL checks
// the reserved slots and the limits right after writing it, in the same
// function and without a word from the client, so the FATAL follows
// within microseconds; the wait covers the follower's read period and a
// busy machine.
inline constexpr std::chrono::milliseconds kAuthorizationVerdictDelay{2000};
// Lines waiting for their verdict, at most (each is a live backend, so
// max_connections bounds them in practice); past it the oldest counts.
inline constexpr size_t kMaxPendingAuthorizations = 4096;

// pgconn_server_log_up, _errors_total, _entries_total,
// pgconn_connections_refused_total{reason},
// pgconn_sessions_terminated_total{reason} and
// pgconn_connections_authorized_total{application}.
void EmitServerLogMetrics(const ServerLogCounts& counts, const Labels& target,
                          MetricsWriter* w);

// Reads the file from its end at start (what was logged before the agent
// ran is not counted), then every new entry. A rename (the path now names
// another file) is followed after the old file is read to its end, the new
// file from its start; a file that shrank was truncated and is read again
// from its start. Memory is bounded: one read buffer and one partial
// record of at most kMaxLogRecordBytes.
//
// Reads happen on the follower's own thread (Start), never on the poll
// thread: a read() of a regular file cannot be made non-blocking, and a log
// on a stalled disk or network file system must not delay a poll. Counts()
// is thread-safe; ReadAvailable() (what the thread runs) is for tests and
// must not run concurrently with the thread.
class ServerLogFollower {
 public:
  // `clock` (monotonic time) dates the authorizations waiting for their
  // verdict; null: the system's. The counts start from `initial` (those of
  // a follower this one replaces).
  ServerLogFollower(ServerLogConfig config, int max_applications,
                    const Logger& logger, const Clock* clock = nullptr,
                    const ServerLogCounts& initial = {});
  ~ServerLogFollower();
  ServerLogFollower(const ServerLogFollower&) = delete;
  ServerLogFollower& operator=(const ServerLogFollower&) = delete;

  // The file's configuration problem (a log_line_prefix pgconn cannot
  // match), or OK. A follower with a bad prefix never reads.
  const Status& status() const { return status_; }

  // Starts the thread: ReadAvailable() every `period`. Stop() (or the
  // destructor) stops and joins it. An exception out of a read, or the
  // loop ending before Stop(), goes to `on_failure` (the thread is named
  // "log_follower:PATH").
  void Start(std::chrono::milliseconds period, ThreadFailureHandler on_failure);
  void Stop();

  // Opens the file if needed and reads what was appended since the last
  // call, following rotation and truncation.
  void ReadAvailable();

  ServerLogCounts Counts() const;

 private:
  void ReadFile();
  void OpenIfNeeded(bool at_end);
  void Drain();
  void Consume(std::string_view bytes);
  void Count(const LogEntry& entry);
  // The verdict on authorized logins: `entry` (of any kind) may settle
  // the pending one of its process; then those that waited long enough.
  void Settle(const LogEntry& entry, const LogEvent& event);
  void CommitExpired();
  void Commit(const std::string& application) PGCONN_REQUIRES(mu_);
  void Lost(std::string_view why, int err);
  void MarkUp();
  void CloseFile();

  const ServerLogConfig config_;
  const Logger& logger_;
  Status status_;
  std::optional<StderrPrefix> prefix_;

  // Owned by the reading thread.
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  off_t offset_ = 0;
  bool attempted_ = false;  // ReadAvailable() ran before
  bool announced_ = false;  // "server log followed" logged
  bool failing_ = false;    // the last attempt failed (count once per outage)
  LineSplitter lines_;
  CsvSplitter csv_;
  const Clock* clock_;
  SystemClock system_clock_;
  struct PendingLogin {
    std::string pid;  // empty where the format has none
    std::string user;
    std::string database;
    std::string application;  // as logged, bounded
    std::chrono::steady_clock::time_point read_at;
  };
  std::deque<PendingLogin> pending_;  // in the log's order

  mutable Mutex mu_;
  ServerLogCounts counts_ PGCONN_GUARDED_BY(mu_);  // but `authorized`
  FoldingCounters authorized_ PGCONN_GUARDED_BY(mu_);

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread thread_;
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_SERVERLOG_FOLLOWER_H_
