// Test harness: real PostgreSQL servers in temporary directories on free
// loopback ports, and client connections to hold open against them.
#ifndef PGCONN_TESTS_INTEGRATION_PG_SERVER_H_
#define PGCONN_TESTS_INTEGRATION_PG_SERVER_H_

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <vector>

#include "pgconn/status.h"

namespace pgconn::testing {

// Runs a shell command; returns its exit status. The command's output goes to
// `log_path` when given.
int RunCommand(const std::string& command, const std::string& log_path = "");

// A port on 127.0.0.1 that nothing listens on right now.
int FreePort();

// Debian 12's PostgreSQL, the major the whole suite runs against.
inline constexpr const char* kDefaultPostgresBinDir =
    "/usr/lib/postgresql/15/bin";

// Directory of initdb/pg_ctl/postgres: $PGCONN_PG_BINDIR (the version
// matrix sets it per major, CMakeLists.txt), else kDefaultPostgresBinDir.
std::string PostgresBinDir();

// One PostgreSQL cluster, owned by the test. Stops and deletes itself on
// destruction. When the test runs as root the server runs as the `postgres`
// user, since PostgreSQL refuses to run as root.
class TestPostgres {
 public:
  struct Options {
    int max_connections = 40;
    int superuser_reserved_connections = 3;
    std::vector<std::string> extra_settings;  // "name=value" lines
    std::vector<std::string> listen_addresses = {"127.0.0.1"};
    // Another encoding than the template's UTF8 ("SQL_ASCII": names may hold
    // any bytes) runs initdb for this cluster with --locale=C.
    std::string encoding;
  };

  static Result<std::unique_ptr<TestPostgres>> Create(const Options& options);
  ~TestPostgres();
  TestPostgres(const TestPostgres&) = delete;
  TestPostgres& operator=(const TestPostgres&) = delete;

  Status Start();
  Status Stop();  // fast shutdown: clients are disconnected
  bool running() const { return running_; }

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // postgresql://USER@127.0.0.1:PORT/DB
  std::string Url(const std::string& user = "postgres",
                  const std::string& db = "postgres",
                  const std::string& host = "127.0.0.1") const;
  // Runs SQL as the superuser on a short-lived connection.
  Status Exec(const std::string& sql, const std::string& db = "postgres") const;
  // First column of the first row of a query, as text.
  Result<std::string> QueryValue(const std::string& sql) const;

 private:
  TestPostgres() = default;
  std::string RunAsOwner(const std::string& command) const;
  std::string dir_;
  std::string bindir_;
  int port_ = 0;
  bool running_ = false;
};

// A client connection held open by a test.
class TestClient {
 public:
  static Result<std::unique_ptr<TestClient>> Open(const std::string& url,
                                                  const std::string& app);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  Status Exec(const std::string& sql);
  // Sends a statement without waiting for it (an "active" session).
  Status Send(const std::string& sql);
  PGconn* conn() { return conn_; }

 private:
  explicit TestClient(PGconn* c) : conn_(c) {}
  PGconn* conn_;
};

}  // namespace pgconn::testing

#endif  // PGCONN_TESTS_INTEGRATION_PG_SERVER_H_
