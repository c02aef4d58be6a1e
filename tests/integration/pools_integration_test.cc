// Declared pools against real connections from several client addresses,
// and the planner against a real server.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include "integration/exposition_parser.h"
#include "integration/pg_server.h"
#include "integration/source_address_relay.h"
#include "pgconn/agent.h"
#include "pgconn/plan_command.h"
#include "pgconn/session.h"
#include "pool_declaration.h"

namespace pgconn {
namespace {

using testing::ParseSamples;
using testing::SourceAddressRelay;
using testing::TestClient;
using testing::TestPostgres;

// Polls once per call of the predicate until it holds or 20 s have passed.
class PoolAgent {
 public:
  explicit PoolAgent(const TargetConfig& target)
      : logger_(&log_, LogLevel::kWarn, LogFormat::kLogfmt, &clock_),
        agent_(ConfigFor(target), sessions_, clock_, logger_) {}

  std::map<std::string, double> PollUntil(
      const std::function<bool(std::map<std::string, double>&)>& done) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::map<std::string, double> samples;
    do {
      EXPECT_TRUE(agent_.PollAllOnce()) << log_.str();
      samples = ParseSamples(Text());
      if (done(samples)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    return samples;
  }
  std::string Text() { return agent_.publisher().Current()->text(); }

 private:
  static Config ConfigFor(const TargetConfig& target) {
    Config c;
    c.targets = {target};
    return c;
  }
  SystemClock clock_;
  std::ostringstream log_;
  Logger logger_;
  PgSessionFactory sessions_;
  Agent agent_;
};

std::string Series(const std::string& name, const std::string& app = "") {
  return name + "{target=\"pools\"" +
         (app.empty() ? "" : ",application=\"" + app + "\"") + "}";
}

class PoolsIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TestPostgres::Options o;
    o.max_connections = 40;
    o.listen_addresses = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
    auto pg = TestPostgres::Create(o);
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
    ASSERT_NE(pg_, nullptr) << "PostgreSQL did not start";
  }

  // A relay whose connections reach the server from `source`.
  std::unique_ptr<SourceAddressRelay> Relay(const std::string& source) {
    auto r = SourceAddressRelay::Start(source, "127.0.0.1", pg_->port());
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : nullptr;
  }

  // Opens `n` connections of `app`, through `relay` when given.
  void Open(int n, const std::string& app, const SourceAddressRelay* relay,
            std::vector<std::unique_ptr<TestClient>>* held) {
    const std::string url = relay ? "postgresql://postgres@127.0.0.1:" +
                                        std::to_string(relay->port()) +
                                        "/postgres"
                                  : pg_->Url();
    for (int i = 0; i < n; ++i) {
      auto c = TestClient::Open(url, app);
      ASSERT_TRUE(c.ok()) << c.status().message();
      held->push_back(std::move(*c));
    }
  }

  static TargetConfig Target() {
    TargetConfig t;
    t.name = "pools";
    t.host = "127.0.0.1";
    t.port = std::to_string(pg_->port());
    t.user = "postgres";
    t.dbname = "postgres";
    return t;
  }

  static TestPostgres* pg_;
  static std::string setup_error_;
};
TestPostgres* PoolsIntegrationTest::pg_ = nullptr;
std::string PoolsIntegrationTest::setup_error_;

// What this machine does with loopback addresses, and the relay that gives
// each simulated worker host its own client_addr.
TEST_F(PoolsIntegrationTest, ClientAddressComesFromTheRelaysSourceAddress) {
  std::vector<std::unique_ptr<TestClient>> held;
  auto relay = Relay("127.0.0.2");
  ASSERT_NE(relay, nullptr);
  Open(1, "it-addr-relay", relay.get(), &held);
  auto direct = TestClient::Open(pg_->Url("postgres", "postgres", "127.0.0.2"),
                                 "it-addr-direct");
  ASSERT_TRUE(direct.ok()) << direct.status().message();
  EXPECT_EQ(*pg_->QueryValue("SELECT host(client_addr) FROM pg_stat_activity "
                             "WHERE application_name = 'it-addr-relay'"),
            "127.0.0.2");
  // Connecting to 127.0.0.2 does not make the client 127.0.0.2: on Linux the
  // kernel picks the route's preferred source, 127.0.0.1. Recorded, not
  // asserted: it is the kernel's choice, not pgconn's.
  auto seen = pg_->QueryValue(
      "SELECT host(client_addr) FROM pg_stat_activity WHERE "
      "application_name = 'it-addr-direct'");
  ASSERT_TRUE(seen.ok());
  RecordProperty("direct_connection_to_127_0_0_2_client_addr", *seen);
  std::cout << "[ info ] a direct connection to 127.0.0.2 has client_addr "
            << *seen << "\n";
}

TEST_F(PoolsIntegrationTest, DeclaredPoolsAgainstRealConnections) {
  // Three worker hosts, one bot host, and an undeclared report on 127.0.0.1.
  auto host2 = Relay("127.0.0.2");
  auto host3 = Relay("127.0.0.3");
  auto host4 = Relay("127.0.0.4");
  auto bot_host = Relay("127.0.0.5");
  ASSERT_TRUE(host2 && host3 && host4 && bot_host);
  std::vector<std::unique_ptr<TestClient>> held;
  Open(3, "it-pool-worker", host2.get(), &held);
  ASSERT_TRUE(held.back()->Send("SELECT pg_sleep(60)").ok());
  Open(3, "it-pool-worker", host3.get(), &held);
  ASSERT_TRUE(held.back()->Send("SELECT pg_sleep(60)").ok());
  Open(2, "it-pool-worker", host4.get(), &held);
  Open(3, "it-pool-bot", bot_host.get(), &held);
  Open(2, "it-pool-report", nullptr, &held);

  // 3 × 4 + 1 × 2 + 2 × 3 + overhead 5 + the agent = 26 of 37 usable
  // (40 - 3).
  TargetConfig t = Target();
  t.pools = {Pool("it-pool-worker", 3, 1, 4), Pool("it-pool-bot", 1, 1, 2),
             Pool("it-pool-absent", 2, 0, 3)};
  t.overhead = 5;
  PoolAgent agent(t);
  // Sessions of earlier tests may take a moment to go away.
  auto s = agent.PollUntil([](std::map<std::string, double>& m) {
    // The text format rounds 2/12 in its last digit.
    const double busy = m[Series("pgconn_pool_busy_ratio", "it-pool-worker")];
    return std::abs(busy - 2.0 / 12) < 1e-9 &&
           m[Series("pgconn_used_connections")] == 14;  // and the agent
  });
  EXPECT_EQ(s[Series("pgconn_used_connections")], 14) << agent.Text();
  EXPECT_EQ(s[Series("pgconn_pool_budget_connections")], 26);
  EXPECT_EQ(s[Series("pgconn_pool_overhead_connections")], 5);
  EXPECT_DOUBLE_EQ(s[Series("pgconn_pool_budget_ratio")], 26.0 / 37);
  EXPECT_EQ(s[Series("pgconn_pool_overcommitted")], 0);

  const std::string w = "it-pool-worker";
  EXPECT_EQ(s[Series("pgconn_pool_declared_replicas", w)], 3);
  EXPECT_EQ(s[Series("pgconn_pool_declared_max_connections", w)], 12);
  EXPECT_EQ(s[Series("pgconn_pool_declared_min_connections", w)], 3);
  EXPECT_DOUBLE_EQ(s[Series("pgconn_pool_utilization_ratio", w)], 8.0 / 12);
  EXPECT_DOUBLE_EQ(s[Series("pgconn_pool_busy_ratio", w)], 2.0 / 12);
  EXPECT_EQ(s[Series("pgconn_pool_excess_connections", w)], 0);
  EXPECT_EQ(s[Series("pgconn_pool_idle_above_min_connections", w)], 3);
  EXPECT_EQ(s[Series("pgconn_application_client_addresses", w)], 3);

  const std::string b = "it-pool-bot";
  EXPECT_DOUBLE_EQ(s[Series("pgconn_pool_utilization_ratio", b)], 1.5);
  EXPECT_EQ(s[Series("pgconn_pool_excess_connections", b)], 1);
  EXPECT_EQ(s[Series("pgconn_pool_idle_above_min_connections", b)], 2);
  EXPECT_EQ(s[Series("pgconn_application_client_addresses", b)], 1);

  const std::string a = "it-pool-absent";
  EXPECT_EQ(s[Series("pgconn_pool_declared_max_connections", a)], 6);
  EXPECT_EQ(s[Series("pgconn_pool_utilization_ratio", a)], 0);
  EXPECT_EQ(s.count(Series("pgconn_application_client_addresses", a)), 0u);

  const std::string r = "it-pool-report";
  EXPECT_EQ(s[Series("pgconn_undeclared_connections", r)], 2);
  EXPECT_DOUBLE_EQ(s[Series("pgconn_undeclared_share_ratio", r)], 2.0 / 14);
  // The agent's own session is counted, but never as undeclared.
  EXPECT_EQ(s.count(Series("pgconn_undeclared_connections", "pgconn-agent")),
            0u);
  EXPECT_EQ(s[Series("pgconn_application_client_addresses", r)], 1);
  EXPECT_EQ(s.count(Series("pgconn_undeclared_connections", w)), 0u);

  // The same connections against a budget that no longer fits: 3 × 10 + 2
  // + the agent = 33 is past 80 % of 37 (29).
  TargetConfig big = Target();
  big.pools = {Pool("it-pool-worker", 3, 1, 10), Pool("it-pool-bot", 1, 1, 2)};
  PoolAgent over(big);
  s = over.PollUntil([](std::map<std::string, double>&) { return true; });
  EXPECT_EQ(s[Series("pgconn_pool_budget_connections")], 33) << over.Text();
  EXPECT_EQ(s[Series("pgconn_pool_overhead_connections")], 0);
  EXPECT_EQ(s[Series("pgconn_pool_overcommitted")], 1);
  EXPECT_DOUBLE_EQ(s[Series("pgconn_pool_utilization_ratio", w)], 8.0 / 30);
  EXPECT_EQ(s[Series("pgconn_undeclared_connections", r)], 2);

  held.clear();
  ASSERT_TRUE(pg_->Exec("SELECT pg_terminate_backend(pid) FROM "
                        "pg_stat_activity WHERE application_name LIKE "
                        "'it-pool-%'")
                  .ok());
}

// pgconn_connections_opened_total: connections opened between two polls,
// by the server's clock, counted once each however many polls see them.
TEST_F(PoolsIntegrationTest, ConnectionsOpenedBetweenPollsAreCounted) {
  const std::string app = "it-opened";
  const std::string opened = Series("pgconn_connections_opened_total", app);
  const std::string self =
      Series("pgconn_connections_opened_total", "pgconn-agent");
  auto once = [](std::map<std::string, double>&) { return true; };
  PoolAgent agent(Target());
  auto s = agent.PollUntil(once);
  // The first poll has no previous time: it counts nothing, not even the
  // agent's own new session.
  ASSERT_EQ(s.count(self), 1u) << agent.Text();
  EXPECT_EQ(s[self], 0);
  EXPECT_EQ(s.count(opened), 0u);

  std::vector<std::unique_ptr<TestClient>> held;
  Open(5, app, nullptr, &held);
  s = agent.PollUntil(once);
  EXPECT_EQ(s[opened], 5) << agent.Text();
  // Seen again, not opened again.
  s = agent.PollUntil(once);
  EXPECT_EQ(s[opened], 5) << agent.Text();
  EXPECT_EQ(s[self], 0);

  // A reconnect storm: every connection replaced, three times over.
  for (int round = 0; round < 3; ++round) {
    held.clear();
    Open(5, app, nullptr, &held);
    s = agent.PollUntil(once);
    EXPECT_EQ(s[opened], 10 + 5 * round) << round << agent.Text();
  }
  EXPECT_EQ(s[self], 0);
  held.clear();
}

TEST_F(PoolsIntegrationTest, PlanReadsMaxConnectionsFromTheServer) {
  SystemClock clock;
  PgSessionFactory sessions;
  const std::string url = pg_->Url();
  PlanCommandContext ctx;
  ctx.env = [url](std::string_view name) -> std::optional<std::string> {
    if (name == "DATABASE_URL") return url;
    return std::nullopt;
  };
  ctx.sessions = &sessions;
  ctx.clock = &clock;
  std::ostringstream out, err;
  // 3 × 9 + the agent = 28 fits under 80 % of 37 usable (29); 4 × 8 + 1
  // = 33 does not.
  EXPECT_EQ(
      RunPlanCommand({"--workers", "3", "--pool-max", "9", "--output", "json"},
                     ctx, out, err),
      kPlanFits)
      << err.str();
  EXPECT_NE(out.str().find("\"usable_connections\": 37,"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("\"max_connections\": 40,"), std::string::npos);
  EXPECT_NE(out.str().find("\"max_connections\": \"server\""),
            std::string::npos);
  std::ostringstream out2, err2;
  EXPECT_EQ(
      RunPlanCommand({"--workers", "4", "--pool-max", "8"}, ctx, out2, err2),
      kPlanDoesNotFit);
  EXPECT_NE(out2.str().find("  max_connections       40       read from "
                            "host=127.0.0.1 port=" +
                            std::to_string(pg_->port()) +
                            " user=postgres dbname=postgres\n"),
            std::string::npos)
      << out2.str();
}

// The real binary: `plan` dispatch and exit codes, and --once with pools
// declared in a configuration file.
TEST_F(PoolsIntegrationTest, AgentBinaryPlansAndExportsDeclaredPools) {
  const std::string dir = pg_->dir();
  const std::string out = dir + "/plan.out";
  const std::string env = "DATABASE_URL=" + pg_->Url() + " ";
  EXPECT_EQ(testing::RunCommand(env + PGCONN_AGENT_BINARY +
                                " plan --workers 3 --pool-max 9 > " + out),
            kPlanFits);
  EXPECT_EQ(testing::RunCommand(env + PGCONN_AGENT_BINARY +
                                " plan --workers 4 --pool-max 8 > " + out),
            kPlanDoesNotFit);
  EXPECT_EQ(testing::RunCommand(std::string(PGCONN_AGENT_BINARY) +
                                    " plan --pool-max ten 2>" + out,
                                ""),
            kPlanBadInput);
  std::ifstream err_in(out);
  std::string err_line;
  std::getline(err_in, err_line);
  EXPECT_EQ(err_line,
            "pgconn-agent plan: flag --pool-max=ten: not a whole "
            "number");

  const std::string config = dir + "/pools.yaml";
  std::ofstream(config) << "targets:\n"
                        << "  - name: pools\n"
                        << "    url: " << pg_->Url() << "\n"
                        << "    overhead: 4\n"
                        << "    pools:\n"
                        << "      - application: it-bin-worker\n"
                        << "        replicas: 5\n"
                        << "        pool_min: 1\n"
                        << "        pool_max: 6\n";
  const std::string metrics = dir + "/once.prom";
  ASSERT_EQ(
      testing::RunCommand(std::string(PGCONN_AGENT_BINARY) + " --config.file " +
                          config + " --once > " + metrics),
      0);
  std::ifstream in(metrics);
  std::stringstream text;
  text << in.rdbuf();
  auto s = ParseSamples(text.str());
  // 5 × 6 + overhead 4 + the agent.
  EXPECT_EQ(s[Series("pgconn_pool_budget_connections")], 35) << text.str();
  EXPECT_DOUBLE_EQ(s[Series("pgconn_pool_budget_ratio")], 35.0 / 37);
  EXPECT_EQ(s[Series("pgconn_pool_overcommitted")], 1);
  EXPECT_EQ(s[Series("pgconn_pool_declared_max_connections", "it-bin-worker")],
            30);
  EXPECT_EQ(s[Series("pgconn_pool_utilization_ratio", "it-bin-worker")], 0);
}

}  // namespace
}  // namespace pgconn
