#include "integration/pgbouncer_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "integration/eventually.h"
#include "integration/pg_server.h"

namespace pgconn::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kStartTimeout = std::chrono::seconds(15);
constexpr auto kStopGrace = std::chrono::seconds(5);

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

bool PortAccepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// Reaps `pid` if it has exited; true when it is gone.
bool Reaped(int pid) {
  int status = 0;
  const int rc = waitpid(pid, &status, WNOHANG);
  return rc == pid || (rc < 0 && errno == ECHILD);
}

}  // namespace

std::string PgBouncerBinary() {
  if (const char* env = std::getenv("PGCONN_PGBOUNCER")) return env;
  return "/usr/sbin/pgbouncer";
}

Result<std::unique_ptr<TestPgBouncer>> TestPgBouncer::Create(
    const Options& options) {
  std::unique_ptr<TestPgBouncer> b(new TestPgBouncer());
  b->binary_ = PgBouncerBinary();
  if (access(b->binary_.c_str(), X_OK) != 0) {
    return Status::NotFound(b->binary_ +
                            " not found (install the Debian package "
                            "pgbouncer or set PGCONN_PGBOUNCER)");
  }
  char tmpl[] = "/tmp/pgconn-pgb-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Status::IoError("mkdtemp failed");
  b->dir_ = tmpl;
  b->port_ = FreePort();

  std::ostringstream ini;
  ini << "[databases]\n"
      << options.database << " = host=127.0.0.1 port=" << options.postgres_port
      << " dbname=" << options.database << "\n\n"
      << "[pgbouncer]\n"
      << "listen_addr = 127.0.0.1\n"
      << "listen_port = " << b->port_ << "\n"
      << "unix_socket_dir =\n"
      << "auth_type = md5\n"
      << "auth_file = " << b->dir_ << "/userlist.txt\n"
      << "admin_users = " << Join(options.admin_users) << "\n"
      << "stats_users = " << Join(options.stats_users) << "\n"
      << "pool_mode = " << options.pool_mode << "\n"
      << "default_pool_size = " << options.default_pool_size << "\n"
      << "reserve_pool_size = " << options.reserve_pool_size << "\n"
      << "max_client_conn = " << options.max_client_conn << "\n"
      << "logfile = " << b->dir_
      << "/pgbouncer.log\n"
      // Retry a failed server login quickly rather than after 15 s.
      << "server_login_retry = 1\n";
  std::ofstream(b->dir_ + "/pgbouncer.ini") << ini.str();
  std::ofstream users(b->dir_ + "/userlist.txt");
  for (const User& u : options.users) {
    users << '"' << u.name << "\" \"" << u.password << "\"\n";
  }
  users.close();
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) return Status::NotFound("no postgres user to run as");
    for (const auto& e :
         std::filesystem::recursive_directory_iterator(b->dir_)) {
      if (chown(e.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        return Status::IoError("chown " + e.path().string());
      }
    }
    if (chown(b->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return Status::IoError("chown " + b->dir_);
    }
  }
  if (Status s = b->Start(); !s.ok()) return s;
  return b;
}

Status TestPgBouncer::Start() {
  if (pid_ > 0) return Status::Ok();
  // Our own child in the foreground (no -d), so that Stop() can reap it;
  // -u drops root to the postgres user, since PgBouncer refuses root.
  std::vector<std::string> args = {binary_};
  if (geteuid() == 0) {
    args.push_back("-u");
    args.push_back("postgres");
  }
  args.push_back(dir_ + "/pgbouncer.ini");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string out = dir_ + "/stderr.log";
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, out.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, binary_.c_str(), &actions, nullptr,
                             argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Status::Internal("posix_spawn " + binary_ + " failed");
  pid_ = pid;
  const bool up = Eventually(
      [this] { return Reaped(pid_) || PortAccepts(port_); }, kStartTimeout);
  if (!up || Reaped(pid_)) {
    pid_ = 0;
    return Status::Internal("pgbouncer did not start on port " +
                            std::to_string(port_) + ": " + Log());
  }
  return Status::Ok();
}

Status TestPgBouncer::Stop() {
  if (pid_ <= 0) return Status::Ok();
  // SIGTERM is an immediate shutdown up to 1.22; later versions wait for
  // clients to leave, so SIGKILL follows after a grace period.
  kill(pid_, SIGTERM);
  if (!Eventually([this] { return Reaped(pid_); }, kStopGrace)) {
    kill(pid_, SIGKILL);
    Eventually([this] { return Reaped(pid_); }, kStopGrace);
  }
  pid_ = 0;
  if (!Eventually([this] { return !PortAccepts(port_); }, kStopGrace)) {
    return Status::Internal("port " + std::to_string(port_) +
                            " still accepts after pgbouncer stopped");
  }
  return Status::Ok();
}

TestPgBouncer::~TestPgBouncer() {
  (void)Stop();
  if (!dir_.empty() && dir_.rfind("/tmp/pgconn-pgb-", 0) == 0 &&
      std::getenv("PGCONN_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string TestPgBouncer::Url(const std::string& user,
                               const std::string& password,
                               const std::string& db) const {
  return "postgresql://" + user + ":" + password +
         "@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

std::string TestPgBouncer::Log() const {
  std::string all;
  for (const char* name : {"/stderr.log", "/pgbouncer.log"}) {
    std::ifstream in(dir_ + name);
    all += std::string((std::istreambuf_iterator<char>(in)), {});
  }
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

}  // namespace pgconn::testing
