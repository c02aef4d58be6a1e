// Issue 12 against real servers: hostile names on a SQL_ASCII cluster
// (promtool and a real Prometheus scrape), secrets through the binary,
// strict configuration, reload by SIGHUP, recovery within two polls, and
// SIGTERM during a poll.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <set>

#include "fakes/hostile_inputs.h"
#include "integration/agent_process.h"
#include "integration/eventually.h"
#include "integration/exposition_parser.h"
#include "integration/pg_server.h"

namespace pgconn {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using testing::AgentProcess;
using testing::ContainsPassword;
using testing::Eventually;
using testing::FreePort;
using testing::HostileInputs;
using testing::ParseSamples;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempPath;
using testing::TestClient;
using testing::TestPostgres;

constexpr const char* kReplacement = "\xEF\xBF\xBD";

double Ms(steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// An agent serving HTTP on a free port with a configuration file the test
// may rewrite.
class ServedAgent {
 public:
  explicit ServedAgent(const std::string& yaml,
                       std::vector<std::string> extra = {})
      : port_(FreePort()), config_(TempPath("yaml")) {
    Write(yaml);
    std::vector<std::string> args = {
        "--config.file=" + config_,
        "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<AgentProcess>(
        args, std::map<std::string, std::string>{});
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_connection_timeout(1, 0);
    client_->set_read_timeout(3, 0);
  }
  ~ServedAgent() { std::remove(config_.c_str()); }

  void Write(const std::string& yaml) { std::ofstream(config_) << yaml; }
  std::string Metrics() {
    auto res = client_->Get("/metrics");
    if (!res || res->status != 200) return "";
    return res->body;
  }
  std::optional<double> Value(const std::string& series) {
    auto s = ParseSamples(Metrics());
    auto it = s.find(series);
    if (it == s.end()) return std::nullopt;
    return it->second;
  }
  AgentProcess& process() { return *process_; }
  int port() const { return port_; }

 private:
  int port_;
  std::string config_;
  std::unique_ptr<AgentProcess> process_;
  std::unique_ptr<httplib::Client> client_;
};

std::string TargetYaml(const std::string& name, int port,
                       const std::string& user = "postgres",
                       const std::string& db = "postgres") {
  return "  - name: " + name +
         "\n    host: 127.0.0.1\n    port: " + std::to_string(port) +
         "\n    user: " + user + "\n    dbname: " + db + "\n";
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = 0; (p = text.find(needle, p)) != std::string::npos; ++p) ++n;
  return n;
}

// ---------------------------------------------------------------------------
// 1. Hostile names

TEST(HostileNamesTest, InvalidUtf8NamesOnASqlAsciiClusterKeepTheScrapeValid) {
  TestPostgres::Options o;
  o.encoding = "SQL_ASCII";
  auto pg = TestPostgres::Create(o);
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  TestPostgres& db = **pg;
  {
    std::ofstream hba(db.dir() + "/data/pg_hba.conf");
    hba << "local all all trust\nhost all all 127.0.0.0/8 trust\n";
  }
  ASSERT_TRUE(db.Exec("SELECT pg_reload_conf()").ok());
  // Two databases and two roles whose names differ only in invalid bytes:
  // the same series once made UTF-8, folded into one.
  for (const char* sql :
       {"CREATE DATABASE \"bad\xff\"", "CREATE DATABASE \"bad\xfe\"",
        "CREATE ROLE \"r\xe9le\" LOGIN", "CREATE ROLE \"r\xe8le\" LOGIN",
        "ALTER DATABASE \"bad\xff\" CONNECTION LIMIT 9"}) {
    ASSERT_TRUE(db.Exec(sql).ok()) << sql;
  }
  std::vector<std::unique_ptr<TestClient>> clients;
  for (const char* user : {"r\xe9le", "r\xe8le"}) {
    for (const char* dbname : {"bad\xff", "bad\xfe"}) {
      auto c = TestClient::Open(db.Url(user, dbname), "app\xff\xfe");
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      clients.push_back(std::move(*c));
    }
  }
  ServedAgent agent("poll_interval: 500ms\ntargets:\n" +
                    TargetYaml("ascii", db.port()));
  std::string text;
  ASSERT_TRUE(Eventually([&] {
    text = agent.Metrics();
    return text.find("pgconn_up{target=\"ascii\"} 1") != std::string::npos &&
           text.find("pgconn_database_connections") != std::string::npos;
  })) << agent.process().Stderr();
  auto s = ParseSamples(text);
  const std::string bad = std::string("bad") + kReplacement;
  EXPECT_EQ(s["pgconn_database_connections{target=\"ascii\",database=\"" + bad +
              "\"}"],
            4)
      << text;
  EXPECT_EQ(s["pgconn_user_connections{target=\"ascii\",user=\"r" +
              std::string(kReplacement) + "le\"}"],
            4)
      << text;
  EXPECT_EQ(Count(text,
                  "pgconn_database_connections{target=\"ascii\","
                  "database=\"" +
                      bad + "\"}"),
            1);
  // No byte of the exposition is invalid UTF-8 (the server cleans
  // application_name to ASCII itself; database and role names it keeps).
  EXPECT_EQ(text.find("\xff"), std::string::npos);
  EXPECT_EQ(text.find("\xe9"), std::string::npos);

  const std::string file = TempPath("prom");
  std::ofstream(file) << text;
  const std::string log = TempPath("promtool");
  ASSERT_EQ(access("/usr/bin/promtool", X_OK), 0) << "promtool is required";
  EXPECT_EQ(RunCommand("/usr/bin/promtool check metrics < " + file, log), 0)
      << ReadFile(log);
  std::remove(file.c_str());
  std::remove(log.c_str());

  // A real Prometheus scrapes it and finds the target healthy.
  ASSERT_EQ(access("/usr/bin/prometheus", X_OK), 0) << "prometheus is required";
  char dir[] = "/tmp/pgconn-prom-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const int prom_port = FreePort();
  std::ofstream(std::string(dir) + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\nscrape_configs:\n"
         "  - job_name: pgconn\n    static_configs:\n      - targets: "
         "['127.0.0.1:"
      << agent.port() << "']\n";
  const pid_t prom = fork();
  if (prom == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    const std::string cfg =
        "--config.file=" + std::string(dir) + "/prometheus.yml";
    const std::string data =
        "--storage.tsdb.path=" + std::string(dir) + "/data";
    const std::string listen =
        "--web.listen-address=127.0.0.1:" + std::to_string(prom_port);
    execl("/usr/bin/prometheus", "prometheus", cfg.c_str(), data.c_str(),
          listen.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  httplib::Client api("127.0.0.1", prom_port);
  api.set_read_timeout(3, 0);
  std::string targets;
  const bool healthy = Eventually(
      [&] {
        auto r = api.Get("/api/v1/targets");
        if (!r || r->status != 200) return false;
        targets = r->body;
        return targets.find("\"health\":\"up\"") != std::string::npos;
      },
      seconds(60), milliseconds(250));
  std::string query, prom_err;
  // A regular expression: the query stays ASCII whatever the client's
  // encoding of U+FFFD.
  const httplib::Params params = {
      {"query", "pgconn_database_connections{database=~\"bad.+\"}"}};
  const bool queried =
      healthy && Eventually(
                     [&] {
                       auto r =
                           api.Get("/api/v1/query", params, httplib::Headers{});
                       if (!r || r->status != 200) {
                         prom_err = r ? r->body : "no answer";
                         return false;
                       }
                       query = r->body;
                       return query.find("\"value\":[") != std::string::npos;
                     },
                     seconds(20), milliseconds(250));
  kill(prom, SIGTERM);
  waitpid(prom, nullptr, 0);
  RunCommand(std::string("rm -rf ") + dir);
  EXPECT_TRUE(healthy) << targets;
  EXPECT_TRUE(queried) << query << " " << prom_err;
  EXPECT_NE(query.find("\"4\"]"), std::string::npos) << query;
  EXPECT_NE(query.find("\"database\":\"" + bad + "\""), std::string::npos)
      << query;
}

// ---------------------------------------------------------------------------
// 2. Secrets through the binary

TEST(SecretsBinaryTest, FuzzedUrlsThroughOnceAndPlanNeverPrintThePassword) {
  HostileInputs gen(20261201);
  int by_code[3] = {0, 0, 0};
  // No targets in the file: DATABASE_URL defines the one target.
  const std::string cfg = TempPath("yaml");
  std::ofstream(cfg) << "connect_timeout: 1s\n";
  for (int i = 0; i < 60; ++i) {
    const std::string url = gen.Url();
    AgentProcess once({"--once", "--log.level=debug", "--config.file=" + cfg},
                      {{"DATABASE_URL", url}});
    const int rc = once.Wait();
    ASSERT_TRUE(rc == 0 || rc == 1 || rc == 2) << rc << " for " << url;
    ++by_code[rc];
    ASSERT_FALSE(ContainsPassword(once.Stdout())) << url;
    ASSERT_FALSE(ContainsPassword(once.Stderr())) << url << "\n"
                                                  << once.Stderr();

    const std::string env = TempPath("env");
    std::ofstream(env) << "DATABASE_URL=\"" << url << "\"\nDB_POOL_MAX=5\n";
    AgentProcess plan({"plan", "--env-file=" + env, "--workers=2",
                       "--max-connections=100", "--offline"},
                      {});
    const int prc = plan.Wait();
    std::remove(env.c_str());
    ASSERT_TRUE(prc == 0 || prc == 1 || prc == 2) << prc << " for " << url;
    ASSERT_FALSE(ContainsPassword(plan.Stdout())) << url;
    ASSERT_FALSE(ContainsPassword(plan.Stderr())) << url << "\n"
                                                  << plan.Stderr();
  }
  std::remove(cfg.c_str());
  // Refused URLs (2) and unreachable servers (1) both occur.
  EXPECT_GT(by_code[2], 0);
  EXPECT_GT(by_code[1], 0);
}

// ---------------------------------------------------------------------------
// 3. Strict configuration through the binary

TEST(StrictBinaryTest, BadFilesAndDurationsExitTwoAndOnceFalseServes) {
  const std::string empty = TempPath("yaml");
  const std::string no_targets = TempPath("yaml");
  std::ofstream(no_targets) << "targets: []\n";
  const std::string huge = TempPath("yaml");
  std::ofstream(huge) << "poll_interval: 106752d\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--config.file=/tmp", "--config.file=/tmp: not a regular file"},
      {"--config.file=" + empty, ": the file is empty"},
      {"--config.file=" + no_targets, "\"targets\" is empty"},
      {"--config.file=" + huge,
       ":1:16: \"poll_interval\": \"106752d\" is too long"},
      {"--once=maybe", "--once: takes no value, or =true or =false"},
  };
  for (const auto& [flag, expected] : cases) {
    AgentProcess a({flag}, {{"DB_HOST", "127.0.0.1"}});
    EXPECT_EQ(a.Wait(), 2) << flag;
    EXPECT_NE(a.Stderr().find(expected), std::string::npos) << a.Stderr();
  }
  for (const auto& f : {empty, no_targets, huge}) std::remove(f.c_str());

  // --once=false serves instead of polling once and exiting.
  const int port = FreePort();
  AgentProcess serving(
      {"--once=false",
       "--web.listen-address=127.0.0.1:" + std::to_string(port)},
      {{"DB_HOST", "127.0.0.1"}, {"DB_PORT", std::to_string(FreePort())}});
  httplib::Client c("127.0.0.1", port);
  EXPECT_TRUE(Eventually([&] {
    auto r = c.Get("/metrics");
    return r && r->status == 200;
  })) << serving.Stderr();
  serving.Signal(SIGTERM);
  EXPECT_EQ(serving.Wait(), 0);
}

// ---------------------------------------------------------------------------
// 4-6. Reload, recovery, SIGTERM: one cluster, a non-superuser agent.

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TestPostgres::Options o;
    o.max_connections = 12;
    o.superuser_reserved_connections = 3;
    auto pg = TestPostgres::Create(o);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(*pg);
    ASSERT_TRUE(pg_->Exec("CREATE ROLE monitor LOGIN").ok());
    ASSERT_TRUE(pg_->Exec("GRANT pg_monitor TO monitor").ok());
    WriteHba(true);
    ReloadServer();
  }
  // pg_hba.conf with the monitor role let in (trust) or rejected.
  void WriteHba(bool accept_monitor) {
    std::ofstream hba(pg_->dir() + "/data/pg_hba.conf");
    hba << "local all all trust\n"
        << "host all postgres 127.0.0.0/8 trust\n"
        << "host all monitor 127.0.0.0/8 "
        << (accept_monitor ? "trust" : "reject") << "\n"
        << "host all all 127.0.0.0/8 trust\n";
  }
  void ReloadServer() {
    ASSERT_TRUE(pg_->Exec("SELECT pg_reload_conf()").ok());
  }
  void KillAgentSessions() {
    ASSERT_TRUE(pg_->Exec("SELECT pg_terminate_backend(pid) FROM "
                          "pg_stat_activity WHERE application_name = "
                          "'pgconn-agent'")
                    .ok());
  }
  std::set<std::string> AgentPids() {
    auto v = pg_->QueryValue(
        "SELECT coalesce(string_agg(pid::text, ',' ORDER BY pid), '') FROM "
        "pg_stat_activity WHERE application_name = 'pgconn-agent'");
    std::set<std::string> out;
    if (!v.ok()) return out;
    std::stringstream in(*v);
    for (std::string p; std::getline(in, p, ',');) out.insert(p);
    return out;
  }
  std::string Yaml(const std::string& targets) {
    return "poll_interval: " + std::to_string(kIntervalMs) +
           "ms\nconnect_timeout: 2s\nquery_timeout: 2s\ntargets:\n" + targets;
  }

  static constexpr int kIntervalMs = 1000;
  std::unique_ptr<TestPostgres> pg_;
};

TEST_F(LifecycleTest, SighupReloadsKeepingSessionsAndRefusingBadFiles) {
  ServedAgent agent(Yaml(TargetYaml("a", pg_->port(), "monitor")));
  ASSERT_TRUE(Eventually([&] {
    return agent.Value("pgconn_up{target=\"a\"}") == 1.0;
  })) << agent.process().Stderr();
  EXPECT_EQ(agent.Value("pgconn_config_last_reload_successful"), 1.0);
  const auto first_success =
      agent.Value("pgconn_config_last_reload_success_timestamp_seconds");
  const std::set<std::string> before = AgentPids();
  ASSERT_EQ(before.size(), 1u);

  // Add b: a keeps its session, b gets its own.
  agent.Write(Yaml(TargetYaml("a", pg_->port(), "monitor") +
                   TargetYaml("b", pg_->port(), "monitor", "template1")));
  agent.process().Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] {
    return agent.Value("pgconn_up{target=\"b\"}") == 1.0;
  })) << agent.process().Stderr();
  const std::set<std::string> after = AgentPids();
  EXPECT_EQ(after.size(), 2u);
  EXPECT_TRUE(
      std::includes(after.begin(), after.end(), before.begin(), before.end()));
  EXPECT_EQ(agent.Value("pgconn_up{target=\"a\"}"), 1.0);
  EXPECT_GE(*agent.Value("pgconn_config_last_reload_success_timestamp_seconds"),
            *first_success);

  // An invalid file is refused; both targets keep running.
  agent.Write("targets:\n  - name: a\n    sslmode: sometimes\n");
  agent.process().Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] {
    return agent.Value("pgconn_config_last_reload_successful") == 0.0;
  })) << agent.process().Stderr();
  EXPECT_NE(agent.process().Stderr().find(
                "configuration reload refused, the previous one keeps running"),
            std::string::npos);
  EXPECT_NE(agent.process().Stderr().find(":3:14: \\\"sslmode\\\""),
            std::string::npos)
      << agent.process().Stderr();
  EXPECT_EQ(agent.Value("pgconn_up{target=\"b\"}"), 1.0);
  EXPECT_EQ(AgentPids(), after);

  // Remove a: its series go, its session closes.
  agent.Write(Yaml(TargetYaml("b", pg_->port(), "monitor", "template1")));
  agent.process().Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] {
    return agent.Metrics().find("target=\"a\"") == std::string::npos &&
           agent.Value("pgconn_config_last_reload_successful") == 1.0;
  })) << agent.Metrics();
  EXPECT_TRUE(Eventually([&] { return AgentPids().size() == 1; }));
  EXPECT_EQ(agent.Value("pgconn_up{target=\"b\"}"), 1.0);

  agent.process().Signal(SIGTERM);
  EXPECT_EQ(agent.process().Wait(), 0);
  EXPECT_EQ(Count(agent.process().Stderr(), "msg=\"configuration reloaded\""),
            2);
}

// POST /-/reload (--web.enable-lifecycle) runs the same reload as SIGHUP,
// from the HTTP thread, and answers with its outcome.
TEST_F(LifecycleTest, PostReloadWithEnableLifecycleReloadsAndReportsErrors) {
  ServedAgent agent(Yaml(TargetYaml("a", pg_->port(), "monitor")),
                    {"--web.enable-lifecycle"});
  ASSERT_TRUE(Eventually([&] {
    return agent.Value("pgconn_up{target=\"a\"}") == 1.0;
  })) << agent.process().Stderr();
  httplib::Client http("127.0.0.1", agent.port());
  http.set_read_timeout(10, 0);

  agent.Write(Yaml(TargetYaml("a", pg_->port(), "monitor") +
                   TargetYaml("b", pg_->port(), "monitor", "template1")));
  auto ok = http.Post("/-/reload");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_TRUE(Eventually([&] {
    return agent.Value("pgconn_up{target=\"b\"}") == 1.0;
  })) << agent.process().Stderr();

  agent.Write("targets:\n  - name: a\n    sslmode: sometimes\n");
  auto bad = http.Post("/-/reload");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 500);
  EXPECT_NE(bad->body.find("sslmode"), std::string::npos) << bad->body;
  EXPECT_EQ(agent.Value("pgconn_config_last_reload_successful"), 0.0);
  EXPECT_EQ(agent.Value("pgconn_up{target=\"b\"}"), 1.0);

  // GET is not a reload.
  auto get = http.Get("/-/reload");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
}

TEST_F(LifecycleTest, WithoutEnableLifecycleThereIsNoReloadEndpoint) {
  ServedAgent agent(Yaml(TargetYaml("a", pg_->port(), "monitor")));
  ASSERT_TRUE(Eventually([&] {
    return agent.Value("pgconn_up{target=\"a\"}") == 1.0;
  })) << agent.process().Stderr();
  httplib::Client http("127.0.0.1", agent.port());
  auto res = http.Post("/-/reload");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

// Detection and recovery, measured: the fault is seen (pgconn_up 0) within
// one interval plus the connect or query timeout, and the target is up
// again within two intervals of the database accepting connections.
class RecoveryTest : public LifecycleTest {
 protected:
  struct Times {
    double detect_ms, recover_ms;
  };
  Times Measure(const std::function<void()>& fault,
                const std::function<void()>& repair) {
    ServedAgent agent(Yaml(TargetYaml("r", pg_->port(), "monitor")));
    EXPECT_TRUE(Eventually([&] {
      return agent.Value("pgconn_up{target=\"r\"}") == 1.0;
    })) << agent.process().Stderr();
    const auto faulted = steady_clock::now();
    fault();
    EXPECT_TRUE(Eventually(
        [&] { return agent.Value("pgconn_up{target=\"r\"}") == 0.0; },
        seconds(10), milliseconds(10)))
        << agent.process().Stderr();
    const auto detected = steady_clock::now();
    // Stay down for several intervals, so that the old backoff would have
    // grown well beyond one interval.
    std::this_thread::sleep_for(milliseconds(5 * kIntervalMs));
    EXPECT_EQ(agent.Value("pgconn_up{target=\"r\"}"), 0.0);
    repair();
    const auto repaired = steady_clock::now();
    EXPECT_TRUE(Eventually(
        [&] { return agent.Value("pgconn_up{target=\"r\"}") == 1.0; },
        seconds(20), milliseconds(10)))
        << agent.process().Stderr();
    const auto recovered = steady_clock::now();
    agent.process().Signal(SIGTERM);
    EXPECT_EQ(agent.process().Wait(), 0);
    // One connection attempt at a time: never two sessions of ours.
    const Times t{Ms(detected - faulted), Ms(recovered - repaired)};
    std::printf("[ recovery ] detected in %.0f ms, up again in %.0f ms\n",
                t.detect_ms, t.recover_ms);
    return t;
  }
  // The documented bounds, plus what a loaded CI machine adds (the scrape
  // loop, process scheduling).
  static constexpr double kSlackMs = 750;
};

TEST_F(RecoveryTest, ServerStopAndRestart) {
  const Times t = Measure([&] { ASSERT_TRUE(pg_->Stop().ok()); },
                          [&] { ASSERT_TRUE(pg_->Start().ok()); });
  EXPECT_LT(t.detect_ms, kIntervalMs + 2000 + kSlackMs);
  EXPECT_LT(t.recover_ms, 2 * kIntervalMs + kSlackMs);
}

TEST_F(RecoveryTest, PgHbaRejectThenAccept) {
  const Times t = Measure(
      [&] {
        WriteHba(false);
        ReloadServer();
        KillAgentSessions();
      },
      [&] {
        WriteHba(true);
        ReloadServer();
      });
  EXPECT_LT(t.detect_ms, kIntervalMs + 2000 + kSlackMs);
  EXPECT_LT(t.recover_ms, 2 * kIntervalMs + kSlackMs);
}

TEST_F(RecoveryTest, TooManyClientsThenFree) {
  std::vector<std::unique_ptr<TestClient>> hogs;
  const Times t = Measure(
      [&] {
        KillAgentSessions();
        // 12 - 3 reserved = 9 slots for ordinary roles.
        for (int i = 0; i < 9; ++i) {
          auto c = TestClient::Open(pg_->Url("monitor"), "hog");
          if (c.ok()) hogs.push_back(std::move(*c));
        }
        ASSERT_EQ(hogs.size(), 9u);
      },
      [&] { hogs.clear(); });
  EXPECT_LT(t.detect_ms, kIntervalMs + 2000 + kSlackMs);
  EXPECT_LT(t.recover_ms, 2 * kIntervalMs + kSlackMs);
}

TEST_F(RecoveryTest, AHungQueryIsDetectedWithinQueryTimeoutAndOneInterval) {
  ServedAgent agent(Yaml(TargetYaml("h", pg_->port(), "monitor")));
  ASSERT_TRUE(Eventually([&] {
    return agent.Value("pgconn_up{target=\"h\"}") == 1.0;
  })) << agent.process().Stderr();
  const std::set<std::string> pids = AgentPids();
  ASSERT_EQ(pids.size(), 1u);
  const pid_t backend = std::stoi(*pids.begin());
  const auto frozen = steady_clock::now();
  ASSERT_EQ(kill(backend, SIGSTOP), 0);
  const std::shared_ptr<void> resume(
      nullptr, [backend](void*) { kill(backend, SIGCONT); });
  ASSERT_TRUE(
      Eventually([&] { return agent.Value("pgconn_up{target=\"h\"}") == 0.0; },
                 seconds(15), milliseconds(10)))
      << agent.process().Stderr();
  const double detect_ms = Ms(steady_clock::now() - frozen);
  std::printf("[ recovery ] hung query detected in %.0f ms\n", detect_ms);
  // query_timeout 2 s, plus the client's 1 s grace, plus one interval.
  EXPECT_LT(detect_ms, 2000 + 1000 + kIntervalMs + kSlackMs);
  EXPECT_NE(agent.Metrics().find("pgconn_poll_errors_total{target=\"h\","
                                 "reason=\"timeout\"} 1"),
            std::string::npos);
  // A new session (a new backend) brings it back at the next poll.
  EXPECT_TRUE(
      Eventually([&] { return agent.Value("pgconn_up{target=\"h\"}") == 1.0; },
                 seconds(2 * kIntervalMs / 1000 + 2)));
}

TEST_F(LifecycleTest, SigtermDuringAPollIsNotAPollError) {
  ServedAgent agent("poll_interval: 200ms\nquery_timeout: 20s\ntargets:\n" +
                    TargetYaml("t", pg_->port(), "monitor"));
  ASSERT_TRUE(Eventually([&] {
    return agent.Value("pgconn_up{target=\"t\"}") == 1.0;
  })) << agent.process().Stderr();
  // Freeze the agent's backend: its next statement hangs until the stop
  // interrupts it (query_timeout is 20 s). Nothing observable says the poll
  // has started, so wait five intervals.
  const std::set<std::string> pids = AgentPids();
  ASSERT_EQ(pids.size(), 1u);
  const pid_t backend = std::stoi(*pids.begin());
  ASSERT_EQ(kill(backend, SIGSTOP), 0);
  // Resumed whatever happens below, or the server could not stop.
  const std::shared_ptr<void> resume(
      nullptr, [backend](void*) { kill(backend, SIGCONT); });
  std::this_thread::sleep_for(milliseconds(1000));
  const std::string errors_before = agent.Metrics();
  agent.process().Signal(SIGTERM);
  const auto sent = steady_clock::now();
  EXPECT_EQ(agent.process().Wait(), 0);
  EXPECT_LT(Ms(steady_clock::now() - sent), 3000);
  const std::string log = agent.process().Stderr();
  EXPECT_EQ(log.find("poll failed"), std::string::npos) << log;
  EXPECT_EQ(log.find("level=error"), std::string::npos) << log;
  EXPECT_NE(errors_before.find(
                "pgconn_poll_errors_total{target=\"t\",reason=\"timeout\"} 0"),
            std::string::npos);
}

}  // namespace
}  // namespace pgconn
