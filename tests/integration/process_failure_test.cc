// A process that dies cleanly or not at all: any thread of the agent that
// ends unexpectedly (an exception, a loop that returns) makes the agent log
// one line and exit 1 within a second, and running out of file
// descriptors under a flood of connections does not end the HTTP server.
// The failures are injected through PGCONN_INTERNAL_FAULT, a test-only
// hook (include/pgconn/thread_guard.h).
#include <arpa/inet.h>
#include <crypt.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "integration/agent_process.h"
#include "integration/eventually.h"
#include "integration/pg_server.h"

namespace pgconn {
namespace {

using testing::AgentProcess;
using testing::Eventually;
using testing::FreePort;
using testing::TempPath;

// A target nothing listens on: the poller keeps failing and retrying,
// which is not a reason to exit.
std::map<std::string, std::string> UnreachableTarget(const std::string& fault) {
  std::map<std::string, std::string> env = {
      {"DB_HOST", "127.0.0.1"},
      {"DB_PORT", std::to_string(FreePort())},
      {"DB_USER", "postgres"},
      {"DB_NAME", "postgres"}};
  if (!fault.empty()) env["PGCONN_INTERNAL_FAULT"] = fault;
  return env;
}

int Get(int port, const std::string& path, const std::string& user = "",
        const std::string& password = "") {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(2, 0);
  if (!user.empty()) c.set_basic_auth(user, password);
  auto res = c.Get(path);
  return res ? res->status : -1;
}

// Starts the agent with `fault`, waits for it to exit, and checks the
// exit status, the time it took and the one line that says why.
void ExpectExitOneWithOneLine(AgentProcess& agent,
                              std::chrono::steady_clock::time_point since,
                              const std::string& thread) {
  const int code = agent.Wait(std::chrono::seconds(10));
  const auto took = std::chrono::steady_clock::now() - since;
  EXPECT_EQ(code, 1) << agent.Stderr();
  // Within a second of the failure: the failure comes within the first
  // poll (a refused connect) or request; the rest is the process start.
  EXPECT_LT(took, std::chrono::seconds(3)) << agent.Stderr();
  const std::string err = agent.Stderr();
  size_t lines = 0;
  for (size_t at = err.find("thread failed, exiting"); at != std::string::npos;
       at = err.find("thread failed, exiting", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << err;
  EXPECT_NE(err.find("level=error"), std::string::npos) << err;
  EXPECT_NE(err.find("thread=" + thread), std::string::npos) << err;
  EXPECT_NE(err.find("injected fault"), std::string::npos) << err;
}

TEST(ProcessFailureTest, APollerThatThrowsEndsTheProcess) {
  const auto start = std::chrono::steady_clock::now();
  AgentProcess agent(
      {"--web.listen-address=127.0.0.1:" + std::to_string(FreePort())},
      UnreachableTarget("poller"));
  ExpectExitOneWithOneLine(agent, start, "poller:");
}

TEST(ProcessFailureTest, ALogFollowerThatThrowsEndsTheProcess) {
  const std::string log = TempPath("pglog");
  const std::string cfg = TempPath("yaml");
  const int db_port = FreePort();
  std::ofstream(cfg) << "poll_interval: 200ms\ntargets:\n  - name: it\n"
                        "    host: 127.0.0.1\n    port: "
                     << db_port
                     << "\n    user: postgres\n    dbname: postgres\n"
                        "    server_log:\n      path: "
                     << log << "\n      format: stderr\n";
  const auto start = std::chrono::steady_clock::now();
  AgentProcess agent(
      {"--config.file=" + cfg,
       "--web.listen-address=127.0.0.1:" + std::to_string(FreePort())},
      {{"PGCONN_INTERNAL_FAULT", "log_follower"}});
  ExpectExitOneWithOneLine(agent, start, "log_follower:" + log);
  std::remove(cfg.c_str());
  std::remove(log.c_str());
}

TEST(ProcessFailureTest, AnHttpLoopThatReturnsEndsTheProcess) {
  const auto start = std::chrono::steady_clock::now();
  AgentProcess agent(
      {"--web.listen-address=127.0.0.1:" + std::to_string(FreePort())},
      UnreachableTarget("http_return"));
  const int code = agent.Wait(std::chrono::seconds(10));
  EXPECT_EQ(code, 1) << agent.Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  const std::string err = agent.Stderr();
  EXPECT_NE(err.find("msg=\"thread failed, exiting\" thread=http "
                     "err=\"the HTTP server loop returned\""),
            std::string::npos)
      << err;
}

TEST(ProcessFailureTest, AnHttpHandlerThatThrowsEndsTheProcess) {
  const auto start = std::chrono::steady_clock::now();
  AgentProcess agent(
      {"--web.listen-address=127.0.0.1:" + std::to_string(FreePort())},
      UnreachableTarget("http_throw"));
  ExpectExitOneWithOneLine(agent, start, "http");
}

TEST(ProcessFailureTest, ABcryptWorkerThatThrowsEndsTheProcess) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  ASSERT_NE(crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof(salt)),
            nullptr);
  crypt_data data{};
  const char* hash = crypt_rn("pw", salt, &data, sizeof(data));
  ASSERT_NE(hash, nullptr);
  const std::string web = TempPath("web");
  std::ofstream(web) << "basic_auth_users:\n  prom: '" << hash << "'\n";
  const int port = FreePort();
  AgentProcess agent({"--web.listen-address=127.0.0.1:" + std::to_string(port),
                      "--web.config.file=" + web},
                     UnreachableTarget("bcrypt"));
  ASSERT_TRUE(Eventually([&] { return Get(port, "/healthz") == 401; }))
      << agent.Stderr();
  // The first password to check goes to the bcrypt thread, which throws.
  const auto start = std::chrono::steady_clock::now();
  Get(port, "/metrics", "prom", "pw");
  ExpectExitOneWithOneLine(agent, start, "http");
  std::remove(web.c_str());
}

int OpenFds(pid_t pid) {
  int n = 0;
  if (DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (const dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

// Connections held open to the agent, each one a descriptor there.
std::vector<int> Flood(int port, int n) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 &&
        connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
      fds.push_back(fd);
    } else if (fd >= 0) {
      close(fd);
    }
  }
  return fds;
}

TEST(ProcessFailureTest, RunningOutOfDescriptorsDoesNotEndTheServer) {
  const int port = FreePort();
  // 64 descriptors: a few for the process itself, the rest for
  // connections; the flood below is four times that.
  AgentProcess agent({"--web.listen-address=127.0.0.1:" + std::to_string(port),
                      "--web.idle-timeout=60s"},
                     UnreachableTarget(""), 64);
  ASSERT_TRUE(Eventually([&] { return Get(port, "/healthz") == 200; }))
      << agent.Stderr();
  std::vector<int> flood = Flood(port, 256);
  // The kernel completes connections into the backlog whatever the agent
  // does; it accepts until accept() fails with EMFILE.
  EXPECT_GE(flood.size(), 200u);
  // The agent did run out: its descriptors reach the limit.
  EXPECT_TRUE(Eventually([&] { return OpenFds(agent.pid()) >= 60; }))
      << OpenFds(agent.pid());
  // Still alive while the flood is held, and serving: each failed accept
  // closes the oldest idle connection to make room.
  EXPECT_TRUE(Eventually([&] { return Get(port, "/healthz") == 200; }))
      << agent.Stderr();
  EXPECT_EQ(agent.Wait(std::chrono::seconds(0)), -1) << agent.Stderr();
  for (int fd : flood) close(fd);
  // Once the flood is gone, every scrape is answered again.
  ASSERT_TRUE(Eventually([&] { return Get(port, "/metrics") == 200; }))
      << agent.Stderr();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Get(port, "/metrics"), 200) << i;
  EXPECT_EQ(agent.Wait(std::chrono::seconds(0)), -1) << agent.Stderr();
  EXPECT_EQ(agent.Stderr().find("thread failed"), std::string::npos);
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(std::chrono::seconds(10)), 0) << agent.Stderr();
}

}  // namespace
}  // namespace pgconn
