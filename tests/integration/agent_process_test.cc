// The pgconn-agent binary as users run it: flags, exit codes, HTTP, and the
// database going away and coming back.
#include "integration/agent_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "integration/eventually.h"
#include "integration/exposition_parser.h"
#include "integration/pg_server.h"

namespace pgconn {
namespace {

using testing::Eventually;

using testing::FreePort;
using testing::ParseSamples;
using testing::RunCommand;
using testing::TestPostgres;

using testing::AgentProcess;
using testing::ReadFile;
using testing::TempPath;

class AgentProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pg = TestPostgres::Create(TestPostgres::Options{});
    // No ASSERT here: GoogleTest would skip the suite's tests, and CTest
    // count them as skipped. SetUp fails each test with the error instead.
    if (!pg.ok()) {
      setup_error_ = pg.status().ToString();
      return;
    }
    pg_ = std::move(*pg).release();
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");  // of SetUpTestSuite
    ASSERT_NE(pg_, nullptr);
    ASSERT_TRUE(pg_->Start().ok());
  }
  static std::map<std::string, std::string> DbEnv() {
    return {{"DB_HOST", "127.0.0.1"},
            {"DB_PORT", std::to_string(pg_->port())},
            {"DB_USER", "postgres"},
            {"DB_NAME", "postgres"}};
  }
  static TestPostgres* pg_;
  static std::string setup_error_;
};
TestPostgres* AgentProcessTest::pg_ = nullptr;
std::string AgentProcessTest::setup_error_;

TEST_F(AgentProcessTest, OncePrintsMetricsThatPromtoolAccepts) {
  AgentProcess agent({"--once"}, DbEnv());
  ASSERT_EQ(agent.Wait(), 0) << agent.Stderr();
  const std::string out = agent.Stdout();
  const std::string target =
      "127.0.0.1:" + std::to_string(pg_->port()) + "/postgres";
  auto s = ParseSamples(out);
  EXPECT_EQ(s["pgconn_up{target=\"" + target + "\"}"], 1) << out;
  EXPECT_EQ(s["pgconn_max_connections{target=\"" + target + "\"}"], 40);
  ASSERT_EQ(access("/usr/bin/promtool", X_OK), 0)
      << "promtool is required (Debian package prometheus)";
  const std::string log = TempPath("promtool");
  const int rc = RunCommand(
      "/usr/bin/promtool check metrics < " + agent.stdout_path(), log);
  EXPECT_EQ(rc, 0) << ReadFile(log);
  std::remove(log.c_str());
}

TEST_F(AgentProcessTest, OnceExitsOneWhenATargetIsUnreachable) {
  AgentProcess agent({"--once"}, {{"DB_HOST", "127.0.0.1"},
                                  {"DB_PORT", std::to_string(FreePort())},
                                  {"DB_USER", "postgres"},
                                  {"DB_PASSWORD", "hunter2"}});
  EXPECT_EQ(agent.Wait(), 1) << agent.Stderr();
  EXPECT_NE(agent.Stdout().find("pgconn_up{"), std::string::npos);
  EXPECT_NE(agent.Stderr().find("msg=\"poll failed\""), std::string::npos);
  EXPECT_NE(agent.Stderr().find("reason=connect"), std::string::npos);
  EXPECT_EQ(agent.Stderr().find("hunter2"), std::string::npos);
  EXPECT_EQ(agent.Stdout().find("hunter2"), std::string::npos);
}

TEST_F(AgentProcessTest, BadConfigurationExitsTwoWithOneClearMessage) {
  const std::string bad_yaml = TempPath("yaml");
  std::ofstream(bad_yaml) << "poll_interval: 5s\ntargets:\n  - name: a\n"
                             "    password: hunter2\n    sslmode: sometimes\n";
  const std::vector<
      std::pair<std::vector<std::string>, std::map<std::string, std::string>>>
      cases = {
          {{}, {{"DB_PORT", "abc"}, {"DB_PASSWORD", "hunter2"}}},
          {{"--poll.interval=0s"}, {}},
          {{"--poll.interval=-1s"}, {}},
          {{"--no-such-flag"}, {}},
          {{"--config.file=" + bad_yaml}, {}},
          {{"--config.file=/nonexistent.yaml"}, {}},
          {{}, {{"DATABASE_URL", "mysql://u:hunter2@h/db"}}},
      };
  const std::vector<std::string> expected = {
      "environment variable DB_PORT=abc",
      "flag --poll.interval=0s: must be positive",
      "flag --poll.interval=-1s",
      "unknown flag --no-such-flag",
      bad_yaml + ":5:14: \"sslmode\": \"sometimes\" is not one of",
      "--config.file=/nonexistent.yaml: cannot read",
      "environment variable DATABASE_URL: not a postgresql:// or postgres:// "
      "URL",
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    AgentProcess agent(cases[i].first, cases[i].second);
    EXPECT_EQ(agent.Wait(), 2) << expected[i];
    const std::string err = agent.Stderr();
    EXPECT_NE(err.find(expected[i]), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
  }
  std::remove(bad_yaml.c_str());
}

TEST_F(AgentProcessTest, HelpAndVersion) {
  AgentProcess help({"--help"}, {{"DB_PASSWORD", "hunter2"}});
  EXPECT_EQ(help.Wait(), 0);
  EXPECT_NE(help.Stdout().find("--web.listen-address"), std::string::npos);
  EXPECT_EQ(help.Stdout().find("hunter2"), std::string::npos);
  AgentProcess version({"--version"}, {});
  EXPECT_EQ(version.Wait(), 0);
  EXPECT_EQ(version.Stdout().rfind("pgconn-agent 0.1.0", 0), 0u)
      << version.Stdout();
}

TEST_F(AgentProcessTest, ServesMetricsAndSurvivesTheDatabaseRestarting) {
  const int port = FreePort();
  const std::string cfg = TempPath("yaml");
  std::ofstream(cfg) << "poll_interval: 250ms\nconnect_timeout: 2s\n"
                        "backoff_max: 1s\ntargets:\n  - name: it\n"
                        "    host: 127.0.0.1\n    port: "
                     << pg_->port()
                     << "\n    user: postgres\n    dbname: postgres\n";
  AgentProcess agent({"--config.file=" + cfg,
                      "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                     {});
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(2, 0);
  auto up = [&]() -> std::optional<double> {
    auto res = client.Get("/metrics");
    if (!res || res->status != 200) return std::nullopt;
    auto s = ParseSamples(res->body);
    auto it = s.find("pgconn_up{target=\"it\"}");
    if (it == s.end()) return std::nullopt;
    return it->second;
  };
  ASSERT_TRUE(Eventually([&] { return up() == 1.0; })) << agent.Stderr();
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  // At most one connection of ours, ever: check it across several polls.
  for (int i = 0; i < 5; ++i) {
    auto n = pg_->QueryValue(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
        "'pgconn-agent'");
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, "1");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  ASSERT_TRUE(pg_->Stop().ok());
  const auto stopped_at = std::chrono::steady_clock::now();
  // Within one poll interval plus the connect timeout (and some slack).
  ASSERT_TRUE(Eventually([&] { return up() == 0.0; }, std::chrono::seconds(5)))
      << agent.Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at,
            std::chrono::milliseconds(250 + 2000 + 1000));
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("pgconn_max_connections{target=\"it\"} 40"),
            std::string::npos);

  ASSERT_TRUE(pg_->Start().ok());
  ASSERT_TRUE(Eventually([&] { return up() == 1.0; })) << agent.Stderr();
  const std::string log = agent.Stderr();
  // Logged once per state change, not once per failed poll.
  size_t failed = 0;
  for (size_t p = 0;
       (p = log.find("msg=\"poll failed\"", p)) != std::string::npos; ++p) {
    ++failed;
  }
  EXPECT_GE(failed, 1u);
  EXPECT_LE(failed, 2u) << log;  // connection_lost, then connect

  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(std::chrono::seconds(10)), 0) << agent.Stderr();
  EXPECT_NE(agent.Stderr().find("msg=\"shutting down\""), std::string::npos);
  std::remove(cfg.c_str());
}

}  // namespace
}  // namespace pgconn
