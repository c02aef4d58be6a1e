// The PgBouncer collectors through the real agent code against a real
// PgBouncer (transaction pooling, small pools) in front of a real
// PostgreSQL, both started by the test on loopback ports.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "integration/eventually.h"
#include "integration/exposition_parser.h"
#include "integration/pg_server.h"
#include "integration/pgbouncer_server.h"
#include "pgconn/agent.h"
#include "pgconn/session.h"

namespace pgconn {
namespace {

using testing::Eventually;

using testing::ParseSamples;
using testing::TestClient;
using testing::TestPgBouncer;
using testing::TestPostgres;

constexpr char kWorker[] = "worker";
constexpr char kWorkerPassword[] = "worker-pw";
constexpr char kMonitor[] = "pgconn_monitor";
constexpr char kMonitorPassword[] = "monitor-pw";

// The agent with a PgBouncer target "bouncer" and, optionally, the
// PostgreSQL behind it as target "pg". Poll() polls both once, in order,
// through the real libpq sessions, and returns the exposition's samples.
class Agents {
 public:
  Agents(const TestPgBouncer& bouncer, const std::string& password_file,
         const TestPostgres* pg, const std::string& user = kMonitor)
      : logger_(&log_, LogLevel::kDebug, LogFormat::kLogfmt, &clock_),
        agent_(MakeConfig(bouncer, password_file, pg, user), sessions_, clock_,
               logger_) {}

  std::map<std::string, double> Poll() {
    agent_.PollAllOnce();
    return ParseSamples(Text());
  }
  std::string Text() const { return agent_.publisher().Current()->text(); }
  std::string Log() const { return log_.str(); }

 private:
  static Config MakeConfig(const TestPgBouncer& bouncer,
                           const std::string& password_file,
                           const TestPostgres* pg, const std::string& user) {
    Config c;
    c.connect_timeout = Duration(3000);
    c.query_timeout = Duration(3000);
    TargetConfig b;
    b.name = "bouncer";
    b.kind = TargetKind::kPgBouncer;
    b.host = "127.0.0.1";
    b.port = std::to_string(bouncer.port());
    b.user = user;
    b.password_file = password_file;  // dbname: pgbouncer by default
    c.targets.push_back(b);
    if (pg != nullptr) {
      TargetConfig p;
      p.name = "pg";
      p.host = "127.0.0.1";
      p.port = std::to_string(pg->port());
      p.user = "postgres";
      p.dbname = "postgres";
      c.targets.push_back(p);
    }
    return c;
  }

  SystemClock clock_;
  std::ostringstream log_;
  Logger logger_;
  PgSessionFactory sessions_;
  Agent agent_;
};

std::string Pool(const std::string& family, const std::string& state = "") {
  std::string s =
      family + "{target=\"bouncer\",database=\"postgres\",user=\"worker\"";
  if (!state.empty()) s += ",state=\"" + state + "\"";
  return s + "}";
}
std::string Target(const std::string& family) {
  return family + "{target=\"bouncer\"}";
}

// Reads and drops every pending result of an asynchronous query.
void Drain(TestClient* c) {
  while (PGresult* r = PQgetResult(c->conn())) PQclear(r);
}

class PgBouncerIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TestPostgres::Options o;
    o.max_connections = 60;
    auto pg = TestPostgres::Create(o);
    // No ASSERT here: GoogleTest would skip the suite's tests, and CTest
    // count them as skipped. StartBouncer fails each test with the error.
    if (!pg.ok()) {
      setup_error_ = pg.status().ToString();
      return;
    }
    pg_ = std::move(*pg).release();
    if (Status s = pg_->Exec(std::string("CREATE ROLE ") + kWorker +
                             " LOGIN PASSWORD '" + kWorkerPassword + "'");
        !s.ok()) {
      setup_error_ = s.ToString();
    }
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }

  // A PgBouncer in transaction mode with a pool of `pool_size` in front of
  // the suite's PostgreSQL; pgconn logs in as a stats_users member (the
  // least privilege that can read every SHOW command).
  void StartBouncer(int pool_size) {
    ASSERT_EQ(setup_error_, "");  // of SetUpTestSuite
    ASSERT_NE(pg_, nullptr) << "PostgreSQL did not start";
    TestPgBouncer::Options o;
    o.postgres_port = pg_->port();
    o.default_pool_size = pool_size;
    o.max_client_conn = 100;
    o.users = {{kWorker, kWorkerPassword}, {kMonitor, kMonitorPassword}};
    o.stats_users = {kMonitor};
    auto b = TestPgBouncer::Create(o);
    // A missing /usr/sbin/pgbouncer fails here: never a skip.
    ASSERT_TRUE(b.ok()) << b.status().message();
    bouncer_ = std::move(*b);
    password_file_ = bouncer_->dir() + "/monitor.password";
    std::ofstream(password_file_) << kMonitorPassword << "\n";
  }

  // `n` worker connections through PgBouncer, named like the guide's
  // worker processes.
  std::vector<std::unique_ptr<TestClient>> OpenWorkers(int n, int per_process) {
    std::vector<std::unique_ptr<TestClient>> out;
    for (int i = 0; i < n; ++i) {
      auto c =
          TestClient::Open(bouncer_->Url(kWorker, kWorkerPassword, "postgres"),
                           "worker-" + std::to_string(i / per_process));
      EXPECT_TRUE(c.ok()) << c.status().message() << bouncer_->Log();
      if (!c.ok()) return out;
      out.push_back(std::move(*c));
    }
    return out;
  }

  // The first `holding` clients open a transaction and keep it (and its
  // server connection); the others send a query, which must wait.
  void HoldAndQueue(std::vector<std::unique_ptr<TestClient>>& clients,
                    size_t holding) {
    for (size_t i = 0; i < clients.size(); ++i) {
      if (i < holding) {
        ASSERT_TRUE(clients[i]->Exec("BEGIN; SELECT 1").ok()) << i;
      } else {
        ASSERT_TRUE(clients[i]->Send("SELECT 1").ok()) << i;
      }
    }
  }

  void Release(std::vector<std::unique_ptr<TestClient>>& clients,
               size_t holding) {
    for (size_t i = 0; i < holding; ++i) {
      ASSERT_TRUE(clients[i]->Exec("COMMIT").ok()) << i;
    }
    for (size_t i = holding; i < clients.size(); ++i) Drain(clients[i].get());
  }

  static TestPostgres* pg_;
  static std::string setup_error_;
  std::unique_ptr<TestPgBouncer> bouncer_;
  std::string password_file_;
};
TestPostgres* PgBouncerIntegrationTest::pg_ = nullptr;
std::string PgBouncerIntegrationTest::setup_error_;

TEST_F(PgBouncerIntegrationTest, WaitingClientsAndGrowingMaxWaitThenRecovery) {
  constexpr int kPool = 3;     // N
  constexpr int kClients = 5;  // M > N
  ASSERT_NO_FATAL_FAILURE(StartBouncer(kPool));
  auto clients = OpenWorkers(kClients, 1);
  ASSERT_EQ(clients.size(), static_cast<size_t>(kClients));
  ASSERT_NO_FATAL_FAILURE(HoldAndQueue(clients, kPool));

  Agents a(*bouncer_, password_file_, nullptr);
  std::map<std::string, double> s;
  ASSERT_TRUE(Eventually([&] {
    s = a.Poll();
    return s[Pool("pgconn_pgbouncer_clients", "waiting")] == kClients - kPool;
  })) << a.Text()
      << a.Log();
  EXPECT_EQ(s[Target("pgconn_pgbouncer_up")], 1);
  EXPECT_EQ(s[Target("pgconn_up")], 1);
  EXPECT_EQ(s[Pool("pgconn_pgbouncer_clients", "active")], kPool);
  EXPECT_EQ(s[Pool("pgconn_pgbouncer_servers", "active")], kPool);
  EXPECT_EQ(s[Pool("pgconn_pgbouncer_servers", "idle")], 0);
  EXPECT_EQ(s[Pool("pgconn_pgbouncer_server_pool_utilization_ratio")], 1.0);
  EXPECT_EQ(s[Target("pgconn_pgbouncer_waiting_clients")], kClients - kPool);
  EXPECT_EQ(s[Target("pgconn_pgbouncer_logical_connections")], kClients);
  EXPECT_EQ(s[Target("pgconn_pgbouncer_physical_connections")], kPool);
  // Every client connection counts against max_client_conn, pgconn's own
  // admin connection included.
  EXPECT_EQ(s[Target("pgconn_pgbouncer_used_client_connections")],
            kClients + 1);
  EXPECT_DOUBLE_EQ(s[Target("pgconn_pgbouncer_client_utilization_ratio")],
                   (kClients + 1) / 100.0);
  EXPECT_EQ(s["pgconn_pgbouncer_database_pool_size{target=\"bouncer\","
              "database=\"postgres\"}"],
            kPool);
  EXPECT_EQ(s["pgconn_pgbouncer_database_server_connections{target="
              "\"bouncer\",database=\"postgres\"}"],
            kPool);
  for (const char* c :
       {"pgbouncer_pools", "pgbouncer_databases", "pgbouncer_stats",
        "pgbouncer_lists", "pgbouncer_config"}) {
    EXPECT_EQ(s["pgconn_collector_success{target=\"bouncer\",collector=\"" +
                std::string(c) + "\"}"],
              1)
        << c << a.Log();
  }

  // The oldest waiter's age, to the microsecond, grows from poll to poll.
  const double first = s[Pool("pgconn_pgbouncer_max_wait_seconds")];
  EXPECT_GT(first, 0);
  EXPECT_NE(first, std::floor(first)) << "whole seconds: maxwait_us ignored";
  ASSERT_TRUE(Eventually([&] {
    s = a.Poll();
    return s[Pool("pgconn_pgbouncer_max_wait_seconds")] > first;
  })) << a.Text();
  EXPECT_EQ(s[Pool("pgconn_pgbouncer_clients", "waiting")], kClients - kPool);

  // Released: nobody waits, the servers go back to the pool.
  ASSERT_NO_FATAL_FAILURE(Release(clients, kPool));
  ASSERT_TRUE(Eventually([&] {
    s = a.Poll();
    return s[Pool("pgconn_pgbouncer_clients", "waiting")] == 0 &&
           s[Pool("pgconn_pgbouncer_servers", "active")] == 0;
  })) << a.Text();
  EXPECT_EQ(s[Pool("pgconn_pgbouncer_max_wait_seconds")], 0);
  EXPECT_EQ(s[Target("pgconn_pgbouncer_waiting_clients")], 0);
  EXPECT_EQ(s[Pool("pgconn_pgbouncer_server_pool_utilization_ratio")], 0);
  EXPECT_EQ(s[Target("pgconn_pgbouncer_logical_connections")], kClients);
  EXPECT_LE(s[Target("pgconn_pgbouncer_physical_connections")], kPool);
  // The waiters' queries ran after the release; their wait was counted.
  EXPECT_GT(s["pgconn_pgbouncer_client_wait_seconds_total{target="
              "\"bouncer\",database=\"postgres\"}"],
            first);
  EXPECT_GE(s["pgconn_pgbouncer_queries_total{target=\"bouncer\","
              "database=\"postgres\"}"],
            kClients);
}

TEST_F(PgBouncerIntegrationTest, ReadsTheConfigurationThatBoundsConnections) {
  ASSERT_NO_FATAL_FAILURE(StartBouncer(4));
  Agents a(*bouncer_, password_file_, nullptr);
  const auto s = a.Poll();
  EXPECT_EQ(s.at(Target("pgconn_pgbouncer_max_client_connections")), 100)
      << a.Text();
  EXPECT_EQ(s.at(Target("pgconn_pgbouncer_default_pool_size")), 4);
  EXPECT_EQ(s.at(Target("pgconn_pgbouncer_reserve_pool_size")), 0);
  EXPECT_EQ(s.at(Target("pgconn_pgbouncer_max_db_connections")), 0);
  EXPECT_EQ(s.at(Target("pgconn_pgbouncer_query_wait_timeout_seconds")), 120);
  EXPECT_EQ(s.at("pgconn_pgbouncer_pool_mode{target=\"bouncer\",mode="
                 "\"transaction\"}"),
            1);
  EXPECT_EQ(s.at("pgconn_pgbouncer_pool_mode{target=\"bouncer\",mode="
                 "\"session\"}"),
            0);
  // Only the agent is connected, to the admin console, which is not a pool.
  EXPECT_EQ(s.at(Target("pgconn_pgbouncer_used_client_connections")), 1);
  EXPECT_EQ(s.at(Target("pgconn_pgbouncer_logical_connections")), 0);
  EXPECT_EQ(s.count("pgconn_pgbouncer_database_pool_size{target=\"bouncer\","
                    "database=\"pgbouncer\"}"),
            0u);
  EXPECT_EQ(s.at("pgconn_pgbouncer_list_items{target=\"bouncer\",list="
                 "\"databases\"}"),
            2);  // postgres and the admin console's pgbouncer
  // No PostgreSQL family for a PgBouncer target.
  EXPECT_EQ(a.Text().find("pgconn_used_connections{target=\"bouncer\"}"),
            std::string::npos);
}

TEST_F(PgBouncerIntegrationTest, AUserOutsideStatsUsersIsAnAuthError) {
  ASSERT_NO_FATAL_FAILURE(StartBouncer(2));
  // The worker authenticates but is in neither stats_users nor admin_users.
  const std::string pw = bouncer_->dir() + "/worker.password";
  std::ofstream(pw) << kWorkerPassword << "\n";
  Agents a(*bouncer_, pw, nullptr, kWorker);
  auto s = a.Poll();
  EXPECT_EQ(s[Target("pgconn_pgbouncer_up")], 0);
  EXPECT_EQ(s["pgconn_poll_errors_total{target=\"bouncer\",reason=\"auth\"}"],
            1)
      << a.Log();
  EXPECT_EQ(a.Log().find(kWorkerPassword), std::string::npos) << a.Log();
}

TEST_F(PgBouncerIntegrationTest, RestartTakesUpToZeroAndBack) {
  ASSERT_NO_FATAL_FAILURE(StartBouncer(2));
  Agents a(*bouncer_, password_file_, nullptr);
  auto s = a.Poll();
  ASSERT_EQ(s[Target("pgconn_pgbouncer_up")], 1) << a.Log();

  ASSERT_TRUE(bouncer_->Stop().ok());
  // The open admin connection breaks first; then connecting is refused.
  s = a.Poll();
  EXPECT_EQ(s[Target("pgconn_pgbouncer_up")], 0);
  EXPECT_EQ(s[Target("pgconn_up")], 0);
  s = a.Poll();
  EXPECT_EQ(s[Target("pgconn_pgbouncer_up")], 0);
  EXPECT_GE(
      s["pgconn_poll_errors_total{target=\"bouncer\",reason=\"connect\"}"], 1)
      << a.Log();
  // The last snapshot stays, next to up 0.
  EXPECT_EQ(s[Target("pgconn_pgbouncer_max_client_connections")], 100);

  ASSERT_TRUE(bouncer_->Start().ok()) << bouncer_->Log();
  ASSERT_TRUE(Eventually([&] {
    s = a.Poll();
    return s[Target("pgconn_pgbouncer_up")] == 1;
  })) << a.Log();
  EXPECT_EQ(s[Target("pgconn_up")], 1);
}

// The guide's PgBouncer example: 10 workers with DB_POOL_MAX=5 through
// PgBouncer with default_pool_size=25 are 50 logical connections, and
// PostgreSQL sees at most 25.
TEST_F(PgBouncerIntegrationTest, GuideExampleFiftyLogicalOnTwentyFivePhysical) {
  constexpr int kWorkers = 10;
  constexpr int kPoolMax = 5;  // DB_POOL_MAX per worker
  constexpr int kPool = 25;    // default_pool_size
  constexpr int kLogical = kWorkers * kPoolMax;
  ASSERT_NO_FATAL_FAILURE(StartBouncer(kPool));
  auto clients = OpenWorkers(kLogical, kPoolMax);
  ASSERT_EQ(clients.size(), static_cast<size_t>(kLogical));
  // Every connection busy at once: 25 get a server, 25 queue.
  ASSERT_NO_FATAL_FAILURE(HoldAndQueue(clients, kPool));

  Agents a(*bouncer_, password_file_, pg_);
  std::map<std::string, double> s;
  const std::string pg_worker =
      "pgconn_user_connections{target=\"pg\",user=\"worker\"}";
  ASSERT_TRUE(Eventually([&] {
    s = a.Poll();
    return s[Pool("pgconn_pgbouncer_clients", "waiting")] == kLogical - kPool &&
           s[pg_worker] == kPool;
  })) << a.Text()
      << a.Log();
  EXPECT_EQ(s[Target("pgconn_pgbouncer_logical_connections")], kLogical);
  EXPECT_EQ(s[Target("pgconn_pgbouncer_physical_connections")], kPool);
  EXPECT_EQ(s[Pool("pgconn_pgbouncer_servers", "active")], kPool);
  EXPECT_EQ(s[Pool("pgconn_pgbouncer_clients", "active")], kPool);
  EXPECT_EQ(s[Target("pgconn_pgbouncer_waiting_clients")], kLogical - kPool);
  EXPECT_EQ(s[Pool("pgconn_pgbouncer_server_pool_utilization_ratio")], 1.0);
  // PostgreSQL's side, through the PostgreSQL target: exactly the 25
  // server connections, not the 50 client connections.
  EXPECT_EQ(s[pg_worker], kPool);
  EXPECT_EQ(s["pgconn_up{target=\"pg\"}"], 1);
  EXPECT_GE(s["pgconn_usable_connections{target=\"pg\"}"], kPool);

  // Load over: the workers keep their 50 connections, PostgreSQL never
  // sees more than 25.
  ASSERT_NO_FATAL_FAILURE(Release(clients, kPool));
  ASSERT_TRUE(Eventually([&] {
    s = a.Poll();
    return s[Pool("pgconn_pgbouncer_clients", "waiting")] == 0;
  })) << a.Text();
  EXPECT_EQ(s[Target("pgconn_pgbouncer_logical_connections")], kLogical);
  EXPECT_LE(s[Target("pgconn_pgbouncer_physical_connections")], kPool);
  EXPECT_LE(s[pg_worker], kPool);
  EXPECT_EQ(s[Target("pgconn_pgbouncer_used_client_connections")],
            kLogical + 1);
}

TEST_F(PgBouncerIntegrationTest, ClientsByApplicationEqualShowClients) {
  constexpr int kPool = 10;
  ASSERT_NO_FATAL_FAILURE(StartBouncer(kPool));
  // Four "worker" processes of three connections each: 12 clients, 10 get
  // a server, 2 wait.
  auto clients = OpenWorkers(12, 3);
  ASSERT_EQ(clients.size(), 12u);
  ASSERT_NO_FATAL_FAILURE(HoldAndQueue(clients, kPool));
  Agents a(*bouncer_, password_file_, nullptr);
  std::map<std::string, double> s;
  auto group = [](const std::string& app, const std::string& state) {
    return "pgconn_pgbouncer_client_connections{target=\"bouncer\","
           "database=\"postgres\",user=\"worker\",application=\"" +
           app + "\",state=\"" + state + "\"}";
  };
  ASSERT_TRUE(Eventually([&] {
    s = a.Poll();
    return s[Pool("pgconn_pgbouncer_clients", "waiting")] == 2;
  })) << a.Text();

  // What SHOW CLIENTS says, counted the same way, on a connection of our own.
  auto admin = TestClient::Open(
      bouncer_->Url(kMonitor, kMonitorPassword, "pgbouncer"), "it-admin");
  ASSERT_TRUE(admin.ok()) << admin.status().message();
  PGresult* r = PQexec((*admin)->conn(), "SHOW CLIENTS");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  const int c_db = PQfnumber(r, "database");
  const int c_state = PQfnumber(r, "state");
  const int c_app = PQfnumber(r, "application_name");
  std::map<std::string, double> want;
  for (int i = 0; i < PQntuples(r); ++i) {
    if (std::string(PQgetvalue(r, i, c_db)) != "postgres") continue;
    ++want[group(PQgetvalue(r, i, c_app), PQgetvalue(r, i, c_state))];
  }
  PQclear(r);
  ASSERT_EQ(want.size() >= 4, true);
  double total = 0;
  for (const auto& [series, n] : want) {
    EXPECT_EQ(s[series], n) << series;
    total += n;
  }
  EXPECT_EQ(total, 12);
  for (int w = 0; w < 4; ++w) {
    const std::string app = "worker-" + std::to_string(w);
    EXPECT_EQ(s[group(app, "active")] + s[group(app, "waiting")], 3) << app;
  }
  // The waiting clients stay in the peak after they got a server.
  ASSERT_NO_FATAL_FAILURE(Release(clients, kPool));
  ASSERT_TRUE(Eventually([&] {
    s = a.Poll();
    return s[Pool("pgconn_pgbouncer_clients", "waiting")] == 0;
  }));
  EXPECT_EQ(s[Pool("pgconn_pgbouncer_waiting_clients_peak")], 2);
}

}  // namespace
}  // namespace pgconn
