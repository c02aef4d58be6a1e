#include "integration/pg_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace pgconn::testing {
namespace {

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

int RunCommand(const std::string& command, const std::string& log_path) {
  std::string full = command;
  if (!log_path.empty()) full += " >>" + Quote(log_path) + " 2>&1";
  const int rc = std::system(full.c_str());
  if (rc == -1) return -1;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string PostgresBinDir() {
  const char* env = std::getenv("PGCONN_PG_BINDIR");
  return env != nullptr && *env != '\0' ? env : kDefaultPostgresBinDir;
}

std::string TestPostgres::RunAsOwner(const std::string& command) const {
  if (geteuid() == 0) return "runuser -u postgres -- " + command;
  return command;
}

Result<std::unique_ptr<TestPostgres>> TestPostgres::Create(
    const Options& options) {
  std::unique_ptr<TestPostgres> pg(new TestPostgres());
  pg->bindir_ = PostgresBinDir();
  if (access((pg->bindir_ + "/initdb").c_str(), X_OK) != 0 ||
      access((pg->bindir_ + "/postgres").c_str(), X_OK) != 0) {
    return Status::NotFound(
        "PostgreSQL server binaries not found in " + pg->bindir_ +
        " (PGCONN_PG_BINDIR; by default Debian's postgresql-15; the other "
        "majors come from tests/postgres-versions, installed by "
        "scripts/install-deps.sh)");
  }
  char tmpl[] = "/tmp/pgconn-it-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Status::IoError("mkdtemp failed");
  pg->dir_ = tmpl;
  if (geteuid() == 0) {
    if (RunCommand("chown postgres " + Quote(pg->dir_)) != 0) {
      return Status::IoError("chown postgres " + pg->dir_ + " failed");
    }
  }
  pg->port_ = FreePort();
  const std::string log = pg->dir_ + "/setup.log";
  // A cluster that initdb made once for the whole ctest run (the
  // pg_template fixture, tests/integration/pg_template.sh) is copied: the
  // same files in a fraction of the time. Without it, initdb runs here.
  const char* tmpl_dir = std::getenv("PGCONN_PG_TEMPLATE");
  const bool have_template =
      tmpl_dir != nullptr && options.encoding.empty() &&
      access((std::string(tmpl_dir) + "/PG_VERSION").c_str(), R_OK) == 0;
  if (have_template) {
    if (RunCommand("cp -a " + Quote(tmpl_dir) + " " + Quote(pg->dir_ + "/data"),
                   "/dev/null") != 0) {
      return Status::Internal("copying " + std::string(tmpl_dir) + " failed");
    }
  } else if (RunCommand(
                 pg->RunAsOwner(pg->bindir_ + "/initdb -D " +
                                Quote(pg->dir_ + "/data") +
                                " -A trust -U postgres --no-sync -E " +
                                (options.encoding.empty()
                                     ? std::string("UTF8")
                                     : options.encoding + " --locale=C")),
                 "/dev/null") != 0) {
    return Status::Internal("initdb failed in " + pg->dir_);
  }
  std::string listen;
  for (const auto& a : options.listen_addresses) {
    if (!listen.empty()) listen += ",";
    listen += a;
  }
  std::string conf;
  conf += "port = " + std::to_string(pg->port_) + "\n";
  conf += "listen_addresses = '" + listen + "'\n";
  conf += "unix_socket_directories = '" + pg->dir_ + "'\n";
  conf += "max_connections = " + std::to_string(options.max_connections) + "\n";
  conf += "superuser_reserved_connections = " +
          std::to_string(options.superuser_reserved_connections) + "\n";
  conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";
  conf += "shared_buffers = 16MB\n";
  for (const auto& s : options.extra_settings) conf += s + "\n";
  // Written by us (root or not) into a file the server owner can read.
  const std::string conf_path = pg->dir_ + "/data/postgresql.auto.conf";
  {
    std::ofstream out(conf_path, std::ios::app);
    out << conf;
  }
  // Password authentication over TCP, so tests can exercise it; trust for
  // the superuser over the socket and loopback is kept for setup.
  {
    std::ofstream hba(pg->dir_ + "/data/pg_hba.conf");
    hba << "local all all trust\n"
        << "host all postgres 127.0.0.0/8 trust\n"
        << "host all all 127.0.0.0/8 scram-sha-256\n";
  }
  if (Status s = pg->Start(); !s.ok()) return s;
  return pg;
}

Status TestPostgres::Start() {
  if (running_) return Status::Ok();
  const std::string cmd =
      RunAsOwner(bindir_ + "/pg_ctl -D " + Quote(dir_ + "/data") + " -l " +
                 Quote(dir_ + "/server.log") + " -w -t 60 start");
  if (RunCommand(cmd, "/dev/null") != 0) {
    std::ifstream in(dir_ + "/server.log");
    std::string all((std::istreambuf_iterator<char>(in)), {});
    return Status::Internal("pg_ctl start failed on port " +
                            std::to_string(port_) + ": " + all);
  }
  running_ = true;
  return Status::Ok();
}

Status TestPostgres::Stop() {
  if (!running_) return Status::Ok();
  const std::string cmd =
      RunAsOwner(bindir_ + "/pg_ctl -D " + Quote(dir_ + "/data") +
                 " -m fast -w -t 60 stop");
  if (RunCommand(cmd, "/dev/null") != 0) {
    return Status::Internal("pg_ctl stop failed");
  }
  running_ = false;
  return Status::Ok();
}

TestPostgres::~TestPostgres() {
  (void)Stop();
  if (!dir_.empty() && dir_.rfind("/tmp/pgconn-it-", 0) == 0 &&
      std::getenv("PGCONN_KEEP_TEST_DIRS") == nullptr) {
    RunCommand("rm -rf " + Quote(dir_));
  }
}

std::string TestPostgres::Url(const std::string& user, const std::string& db,
                              const std::string& host) const {
  return "postgresql://" + user + "@" + host + ":" + std::to_string(port_) +
         "/" + db;
}

Status TestPostgres::Exec(const std::string& sql, const std::string& db) const {
  PGconn* c = PQconnectdb(
      (Url("postgres", db) + "?application_name=pgconn-test-setup").c_str());
  std::unique_ptr<PGconn, decltype(&PQfinish)> holder(c, &PQfinish);
  if (PQstatus(c) != CONNECTION_OK) {
    return Status::Unavailable(PQerrorMessage(c));
  }
  PGresult* r = PQexec(c, sql.c_str());
  std::unique_ptr<PGresult, decltype(&PQclear)> rh(r, &PQclear);
  const auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return Status(StatusCode::kQueryFailed, PQresultErrorMessage(r));
  }
  return Status::Ok();
}

Result<std::string> TestPostgres::QueryValue(const std::string& sql) const {
  PGconn* c =
      PQconnectdb((Url() + "?application_name=pgconn-test-setup").c_str());
  std::unique_ptr<PGconn, decltype(&PQfinish)> holder(c, &PQfinish);
  if (PQstatus(c) != CONNECTION_OK) {
    return Status::Unavailable(PQerrorMessage(c));
  }
  PGresult* r = PQexec(c, sql.c_str());
  std::unique_ptr<PGresult, decltype(&PQclear)> rh(r, &PQclear);
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
    return Status(StatusCode::kQueryFailed, PQresultErrorMessage(r));
  }
  return std::string(PQgetvalue(r, 0, 0));
}

Result<std::unique_ptr<TestClient>> TestClient::Open(const std::string& url,
                                                     const std::string& app) {
  const char* kw[] = {"dbname", "application_name", nullptr};
  const char* val[] = {url.c_str(), app.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(kw, val, 1);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    return Status::Unavailable(msg);
  }
  return std::unique_ptr<TestClient>(new TestClient(c));
}

TestClient::~TestClient() { PQfinish(conn_); }

Status TestClient::Exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  std::unique_ptr<PGresult, decltype(&PQclear)> rh(r, &PQclear);
  const auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return Status(StatusCode::kQueryFailed, PQresultErrorMessage(r));
  }
  return Status::Ok();
}

Status TestClient::Send(const std::string& sql) {
  if (PQsendQuery(conn_, sql.c_str()) == 0) {
    return Status(StatusCode::kQueryFailed, PQerrorMessage(conn_));
  }
  return Status::Ok();
}

}  // namespace pgconn::testing
