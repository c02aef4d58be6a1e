// Test harness: a real PgBouncer (Debian's /usr/sbin/pgbouncer, or
// $PGCONN_PGBOUNCER) in a temporary directory on a free loopback port, in
// front of a TestPostgres.
#ifndef PGCONN_TESTS_INTEGRATION_PGBOUNCER_SERVER_H_
#define PGCONN_TESTS_INTEGRATION_PGBOUNCER_SERVER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pgconn/status.h"

namespace pgconn::testing {

// One PgBouncer process, owned by the test; stopped and deleted on
// destruction. PgBouncer refuses to run as root, so when the test runs as
// root it runs as the `postgres` user, like TestPostgres.
//
// Authentication is md5 against a plain-text auth_file (PgBouncer then logs
// in to PostgreSQL with the same password, which also works for SCRAM).
class TestPgBouncer {
 public:
  struct User {
    std::string name;
    std::string password;
  };
  struct Options {
    int postgres_port = 0;              // the server behind it
    std::string database = "postgres";  // one [databases] entry, same name
    std::string pool_mode = "transaction";
    int default_pool_size = 5;
    int reserve_pool_size = 0;
    int max_client_conn = 100;
    std::vector<User> users;  // written to the auth_file
    std::vector<std::string> admin_users;
    std::vector<std::string> stats_users;
  };

  static Result<std::unique_ptr<TestPgBouncer>> Create(const Options& options);
  ~TestPgBouncer();
  TestPgBouncer(const TestPgBouncer&) = delete;
  TestPgBouncer& operator=(const TestPgBouncer&) = delete;

  // Starts the daemon and waits until it accepts connections.
  Status Start();
  // Stops it (immediate shutdown) and waits until the process is gone and
  // the port is closed.
  Status Stop();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // postgresql://USER:PASSWORD@127.0.0.1:PORT/DB
  std::string Url(const std::string& user, const std::string& password,
                  const std::string& db) const;
  // The log, for failure messages.
  std::string Log() const;

 private:
  TestPgBouncer() = default;
  std::string dir_;
  std::string binary_;
  int port_ = 0;
  int pid_ = 0;
};

// Path of the pgbouncer binary: $PGCONN_PGBOUNCER or /usr/sbin/pgbouncer.
std::string PgBouncerBinary();

}  // namespace pgconn::testing

#endif  // PGCONN_TESTS_INTEGRATION_PGBOUNCER_SERVER_H_
