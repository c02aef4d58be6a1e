// The barrier around every thread body of the agent. A thread that must
// run until it is stopped (a target's poller, a server log follower, the
// HTTP server, the bcrypt worker) and ends by itself, or with an exception,
// leaves a process that looks alive but is half dead: it would keep
// serving stale numbers, or keep polling while serving nothing, and no
// supervisor (systemd, Kubernetes) would restart it. So such an end is
// fatal: one clear log line, then the process exits with status 1.
#ifndef PGCONN_THREAD_GUARD_H_
#define PGCONN_THREAD_GUARD_H_

#include <functional>
#include <string_view>

#include "pgconn/log.h"

namespace pgconn {

// Called when a guarded thread ends unexpectedly: `thread` names it,
// `what` says how. The agent's handler does not return; a test's may.
using ThreadFailureHandler =
    std::function<void(std::string_view thread, std::string_view what)>;

// The agent's handler: logs "thread failed, exiting" at error level with
// the thread and the reason, then ends the process at once with status 1
// (std::_Exit: no destructor runs while other threads may still use what
// it would destroy, and nothing can hang on the way out).
ThreadFailureHandler ExitOnThreadFailure(const Logger& logger);

// Runs `body` on the calling thread. An exception escaping it goes to
// `on_failure` (with its what(), or "unknown exception"). Returns true when
// `body` returned normally, false after an exception (if `on_failure`
// returned).
bool RunGuarded(std::string_view thread, const ThreadFailureHandler& on_failure,
                const std::function<void()>& body);

// Internal, for the tests of these barriers only: true when the
// environment variable PGCONN_INTERNAL_FAULT names `site` (read once).
// The sites: "poller" (a poller thread throws after its first poll),
// "log_follower" (a server log follower throws after its first read),
// "http_return" (the HTTP server's loop returns at once), "http_throw" (a
// handler on the HTTP thread throws), "bcrypt" (the bcrypt worker throws).
// Not a flag and not documented for users: it only breaks things.
bool FaultInjected(std::string_view site);

}  // namespace pgconn

#endif  // PGCONN_THREAD_GUARD_H_
