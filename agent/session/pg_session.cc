// libpq session: asynchronous connect and query with client-side deadlines,
// so that a hung network or server can never block the poller for longer
// than the configured timeouts.
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "config/dsn.h"
#include "pgconn/session.h"
#include "session/connection_params.h"

namespace pgconn {
namespace detail {

StatusCode ClassifyConnectError(std::string_view m) {
  auto has = [&m](std::string_view s) {
    return m.find(s) != std::string_view::npos;
  };
  if (has("too many clients") || has("remaining connection slots") ||
      has("too many connections") || has("no more connections allowed")) {
    return StatusCode::kTooManyClients;
  }
  if (has("authentication failed") || has("pg_hba.conf") ||
      has("no password supplied") || has("password is required") ||
      has("does not exist") || has("not permitted to log in") ||
      has("permission denied for database") || has("SCRAM") ||
      // PgBouncer's admin console, to a user in neither admin_users nor
      // stats_users.
      has("FATAL:  not allowed")) {
    return StatusCode::kUnauthenticated;
  }
  if (has("timeout expired")) return StatusCode::kDeadlineExceeded;
  return StatusCode::kUnavailable;
}

StatusCode ClassifySqlState(std::string_view s) {
  if (s == "57014") return StatusCode::kDeadlineExceeded;  // query_canceled
  if (s == "53300") return StatusCode::kTooManyClients;
  if (s.rfind("28", 0) == 0) return StatusCode::kUnauthenticated;
  // admin_shutdown, crash_shutdown, cannot_connect_now
  if (s == "57P01" || s == "57P02" || s == "57P03") {
    return StatusCode::kConnectionLost;
  }
  if (s.rfind("08", 0) == 0) return StatusCode::kConnectionLost;
  return StatusCode::kQueryFailed;
}

}  // namespace detail

namespace {

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

std::string Chomp(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() &&
         (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) {
    out.pop_back();
  }
  // libpq prefixes with "connection to server at ... failed: "; keep it, it
  // names the host, which is what the operator needs. Multi-line messages
  // (one per host tried) are joined.
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

// A result's cells read in place from libpq's PGresult, which it owns: the
// parsers that read ResultSet::cell() copy nothing (at 5,000 backends the
// copy into strings was 30 % of the poll thread's CPU, issue 24).
class PgResultCells final : public ResultSet::Source {
 public:
  explicit PgResultCells(ResultPtr r)
      : r_(std::move(r)),
        rows_(static_cast<size_t>(PQntuples(r_.get()))),
        columns_(static_cast<size_t>(PQnfields(r_.get()))) {}
  size_t rows() const override { return rows_; }
  size_t columns() const override { return columns_; }
  bool null(size_t row, size_t column) const override {
    return PQgetisnull(r_.get(), static_cast<int>(row),
                       static_cast<int>(column)) != 0;
  }
  std::string_view value(size_t row, size_t column) const override {
    const int t = static_cast<int>(row), f = static_cast<int>(column);
    return std::string_view(PQgetvalue(r_.get(), t, f),
                            static_cast<size_t>(PQgetlength(r_.get(), t, f)));
  }

 private:
  const ResultPtr r_;
  const size_t rows_;
  const size_t columns_;
};

ResultSet ToResultSet(ResultPtr r) {
  const int nf = PQnfields(r.get());
  std::vector<std::string> cols;
  cols.reserve(nf);
  for (int f = 0; f < nf; ++f) cols.emplace_back(PQfname(r.get(), f));
  return ResultSet::InPlace(
      std::move(cols), std::make_shared<const PgResultCells>(std::move(r)));
}

class PgSession final : public Session {
 public:
  PgSession(TargetConfig target, SessionOptions options)
      : target_(std::move(target)), options_(std::move(options)) {}
  ~PgSession() override = default;
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  Status Connect(Deadline deadline) override {
    if (conn_) return Status::Ok();
    auto params = BuildConnectionParams(target_, options_);
    if (!params.ok()) return params.status();
    std::vector<const char*> kw, val;
    for (size_t i = 0; i < params->keywords.size(); ++i) {
      kw.push_back(params->keywords[i].c_str());
      val.push_back(params->values[i].c_str());
    }
    kw.push_back(nullptr);
    val.push_back(nullptr);
    ConnPtr conn(
        PQconnectStartParams(kw.data(), val.data(), params->expand_dbname));
    if (!conn) return Status::Internal("libpq could not allocate a connection");
    if (PQstatus(conn.get()) == CONNECTION_BAD) {
      return ConnectError(conn.get());
    }
    // As libpq documents: behave as if PQconnectPoll returned WRITING first.
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (true) {
      if (st == PGRES_POLLING_OK) break;
      if (st == PGRES_POLLING_FAILED) return ConnectError(conn.get());
      Status w =
          Wait(PQsocket(conn.get()), st == PGRES_POLLING_READING, deadline);
      if (!w.ok()) {
        return Status(w.code(), "connect: " + w.message());
      }
      st = PQconnectPoll(conn.get());
    }
    server_version_ = PQserverVersion(conn.get());
    conn_ = std::move(conn);
    prepared_ = {};
    return Status::Ok();
  }

  bool connected() const override { return conn_ != nullptr; }

  Result<std::vector<ResultSet>> Execute(std::string_view sql,
                                         Deadline deadline) override {
    if (!conn_) return Status(StatusCode::kConnectionLost, "not connected");
    PGconn* c = conn_.get();
    if (PQsendQuery(c, std::string(sql).c_str()) == 0) {
      return Lose(StatusCode::kConnectionLost,
                  "send: " + Chomp(PQerrorMessage(c)));
    }
    std::vector<ResultSet> out;
    Status first_error;
    while (true) {
      while (PQisBusy(c)) {
        Status w = Wait(PQsocket(c), /*read=*/true, deadline);
        if (!w.ok()) return Lose(w.code(), "query: " + w.message());
        if (PQconsumeInput(c) == 0) {
          return Lose(StatusCode::kConnectionLost, Chomp(PQerrorMessage(c)));
        }
      }
      ResultPtr r(PQgetResult(c));
      if (!r) break;
      switch (PQresultStatus(r.get())) {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
          out.push_back(ToResultSet(std::move(r)));
          break;
        case PGRES_FATAL_ERROR:
        case PGRES_NONFATAL_ERROR:
        case PGRES_BAD_RESPONSE: {
          if (!first_error.ok()) break;
          const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
          const StatusCode code = state ? detail::ClassifySqlState(state)
                                        : StatusCode::kConnectionLost;
          first_error = Status(
              code,
              Chomp(PQresultErrorMessage(r.get())) +
                  (state ? " (SQLSTATE " + std::string(state) + ")" : ""));
          break;
        }
        default:
          if (first_error.ok()) {
            first_error =
                Status::InvalidData(std::string("unexpected result status ") +
                                    PQresStatus(PQresultStatus(r.get())));
          }
      }
    }
    if (PQstatus(c) == CONNECTION_BAD) {
      return Lose(StatusCode::kConnectionLost, first_error.ok()
                                                   ? Chomp(PQerrorMessage(c))
                                                   : first_error.message());
    }
    if (!first_error.ok()) {
      if (first_error.code() == StatusCode::kConnectionLost) Close();
      return first_error;
    }
    return out;
  }

  void Close() override {
    conn_.reset();
    server_version_ = 0;
    prepared_ = {};
  }

  int server_version() const override { return server_version_; }

  PreparedStatements* prepared_statements() override { return &prepared_; }

 private:
  Status ConnectError(PGconn* c) const {
    const std::string msg = Chomp(PQerrorMessage(c));
    return Status(detail::ClassifyConnectError(msg),
                  RedactSecrets(msg, target_));
  }

  // Closes the connection: after a timeout or a broken stream its protocol
  // state is unknown. The server ends the statement itself through
  // statement_timeout, so no cancel request (a second connection) is sent.
  Status Lose(StatusCode code, const std::string& message) {
    Close();
    return Status(code, RedactSecrets(message, target_));
  }

  // Waits until `fd` is readable (or writable), the deadline passes, or the
  // interrupt flag is raised. Slices of 100 ms keep shutdown prompt.
  Status Wait(int fd, bool read, Deadline deadline) const {
    if (fd < 0) return Status(StatusCode::kConnectionLost, "no socket");
    while (true) {
      if (options_.interrupt != nullptr && options_.interrupt->load()) {
        return Status(StatusCode::kDeadlineExceeded, "interrupted");
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        return Status(StatusCode::kDeadlineExceeded, "timed out");
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)
              .count();
      pollfd p{};
      p.fd = fd;
      p.events = read ? POLLIN : POLLOUT;
      const int rc =
          ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left + 1, 100)));
      if (rc > 0) return Status::Ok();
      if (rc < 0 && errno != EINTR) {
        return Status(StatusCode::kConnectionLost,
                      std::string("poll: ") + std::strerror(errno));
      }
    }
  }

  const TargetConfig target_;
  const SessionOptions options_;
  ConnPtr conn_;
  int server_version_ = 0;
  PreparedStatements prepared_;  // on conn_
};

}  // namespace

std::unique_ptr<Session> PgSessionFactory::Create(
    const TargetConfig& target, const SessionOptions& options) const {
  return std::make_unique<PgSession>(target, options);
}

}  // namespace pgconn
