// The agent: one poller thread per configured target, publishing into the
// exposition that the HTTP server serves. What main.cc and the integration
// tests drive; everything behind it lives in agent/runtime.
#ifndef PGCONN_AGENT_H_
#define PGCONN_AGENT_H_

#include <memory>
#include <string>

#include "pgconn/clock.h"
#include "pgconn/config.h"
#include "pgconn/log.h"
#include "pgconn/publisher.h"
#include "pgconn/session.h"
#include "pgconn/status.h"
#include "pgconn/thread_guard.h"

namespace pgconn {

// Thread-safe: Start, Stop, PollAllOnce, Reload and ReloadFailed may be
// called from any thread (the signal thread, an HTTP handler); they are
// serialized by one lock, so a reload never overlaps another or a stop.
class Agent {
 public:
  // Every collector switch of `config` must have passed
  // ValidateCollectorSwitches(). A thread of the agent (a poller, a server
  // log follower) that ends unexpectedly calls `on_thread_failure`; unset,
  // ExitOnThreadFailure(logger): one log line and exit status 1.
  Agent(const Config& config, const SessionFactory& sessions,
        const Clock& clock, const Logger& logger,
        ThreadFailureHandler on_thread_failure = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // The exposition of every target's latest poll.
  const ExpositionSource& publisher() const;

  // Logs one line per configured target (name, kind, what it connects to).
  void LogTargets(const Logger& logger) const;

  void Start();
  // Asks every poller to stop and joins them; idempotent.
  void Stop();
  // Polls every target once, in order, on the calling thread (--once).
  // Returns true if every target was reached.
  bool PollAllOnce();

  // Applies a new configuration without a restart: a target whose settings
  // (and the agent-wide polling settings) are unchanged keeps its poller,
  // session and last snapshot; a new target starts; a removed one stops and
  // its series leave the exposition; a changed one is stopped, then started
  // anew. Settings only read at start-up (listen address, logging) stay as
  // they are. A configuration whose collector switches are invalid is
  // refused as ReloadFailed() describes. Blocks until removed pollers have
  // stopped (at most a poll's deadline).
  Status Reload(const Config& config);
  // Records a reload refused before it reached Reload() (the file did not
  // parse): logs the error, sets pgconn_config_last_reload_successful to 0,
  // and changes nothing else.
  void ReloadFailed(const Status& error);

 private:
  struct Runner;
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Checks every collector switch of `config` (flags, the file's top level,
// each target's) against the collectors of its kind of target; the error
// names where the switch was set.
Status ValidateCollectorSwitches(const Config& config);

// Checks each target's `server_log:` (a log_line_prefix pgconn can match,
// PostgreSQL targets only); the error names where it was set.
Status ValidateServerLogs(const Config& config);

// The "--collector.NAME" part of --help: every collector with its default.
std::string CollectorFlagsHelp();

// "pgconn-agent VERSION (revision REV)".
std::string VersionLine();

}  // namespace pgconn

#endif  // PGCONN_AGENT_H_
