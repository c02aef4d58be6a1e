// A database session: one connection, the simple query protocol, deadlines
// enforced on the client side as well as by statement_timeout.
#ifndef PGCONN_SESSION_H_
#define PGCONN_SESSION_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/result_set.h"
#include "pgconn/status.h"

namespace pgconn {

using Deadline = std::chrono::steady_clock::time_point;

// How the agent opens its sessions.
struct SessionOptions {
  std::string application_name = "pgconn-agent";
  Duration connect_timeout{5000};
  Duration statement_timeout{5000};
  // When set and raised, waits in the session end at once (shutdown).
  const std::atomic<bool>* interrupt = nullptr;
};

// The statements prepared (PREPARE) on one connection, by name.
struct PreparedStatements {
  std::set<std::string> names;    // executed by name
  std::set<std::string> refused;  // the server would not prepare them
  bool disabled = false;          // send every statement as text
  // RunCollectors' batch on this connection, built once (at its first poll,
  // and again when the settings that shape the statements change): so that
  // a poll does not build the statements' texts and names again.
  struct Batch {
    std::string key;  // the collectors and settings it was built for
    // Per distinct statement: the collectors that share it (indices into
    // the poll's collectors); the start of its text: its tags and "EXECUTE
    // name", to which a poll adds its arguments if it takes any, or its
    // tags alone if the server refused to prepare it (a poll then adds the
    // statement's text).
    std::vector<std::vector<size_t>> collectors;
    std::vector<std::string> heads;
    std::vector<bool> takes_arguments;
    std::vector<bool> refused;
    std::string clock;  // the server clock's statement
  };
  std::optional<Batch> batch;
};

// One connection to one server. Not thread-safe: the poller that owns it is
// the only user. Implementations hold at most one server connection at a
// time.
class Session {
 public:
  virtual ~Session() = default;

  // Opens the connection if it is not open. Errors are classified by code:
  // kUnavailable, kUnauthenticated, kTooManyClients, kDeadlineExceeded.
  virtual Status Connect(Deadline deadline) = 0;
  virtual bool connected() const = 0;

  // Sends `sql` (one or several statements separated by ';') in a single
  // round trip with the simple query protocol, and returns one ResultSet per
  // statement. On kDeadlineExceeded or kConnectionLost the session is closed.
  virtual Result<std::vector<ResultSet>> Execute(std::string_view sql,
                                                 Deadline deadline) = 0;

  virtual void Close() = 0;
  // What RunCollectors prepared on the open connection; reset when the
  // connection closes or another opens. Null when this session does not
  // prepare statements.
  virtual PreparedStatements* prepared_statements() { return nullptr; }

  // PostgreSQL's server_version_num of the open connection, or 0.
  virtual int server_version() const = 0;
};

// Creates sessions for a target. Thread-safe.
class SessionFactory {
 public:
  virtual ~SessionFactory() = default;
  virtual std::unique_ptr<Session> Create(
      const TargetConfig& target, const SessionOptions& options) const = 0;
};

// The libpq implementation.
class PgSessionFactory final : public SessionFactory {
 public:
  std::unique_ptr<Session> Create(const TargetConfig& target,
                                  const SessionOptions& options) const override;
};

namespace detail {
// Maps a libpq connection failure message to a status code. Exposed for
// tests: libpq reports startup errors only as text.
StatusCode ClassifyConnectError(std::string_view message);
// Maps an SQLSTATE to a status code.
StatusCode ClassifySqlState(std::string_view sqlstate);
}  // namespace detail

}  // namespace pgconn

#endif  // PGCONN_SESSION_H_
