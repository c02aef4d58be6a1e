// The poller and collectors against a real PostgreSQL started for the test.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/eventually.h"
#include "integration/exposition_parser.h"
#include "integration/pg_server.h"
#include "integration/poll_harness.h"
#include "pgconn/session.h"
#include "runtime/poller.h"

namespace pgconn {
namespace {

using testing::Eventually;

using testing::ParseSamples;
using testing::TestClient;
using testing::TestPostgres;

std::unique_ptr<TestClient> MustOpen(const std::string& url,
                                     const std::string& app) {
  auto c = TestClient::Open(url, app);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(*c) : nullptr;
}

using Harness = testing::PollHarness;

TargetConfig Target(const TestPostgres& pg,
                    const std::string& user = "postgres") {
  TargetConfig t;
  t.name = "it";
  t.host = "127.0.0.1";
  t.port = std::to_string(pg.port());
  t.user = user;
  t.dbname = "postgres";
  return t;
}

std::string Conn(const std::string& app, const std::string& state) {
  return "pgconn_connections{target=\"it\",application=\"" + app +
         "\",state=\"" + state + "\"}";
}

class PostgresIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TestPostgres::Options o;
    o.max_connections = 40;
    auto pg = TestPostgres::Create(o);
    // No ASSERT here: GoogleTest would skip the suite's tests, and CTest
    // count them as skipped. SetUp fails each test with the error instead.
    if (!pg.ok()) {
      setup_error_ = pg.status().ToString();
      return;
    }
    pg_ = std::move(*pg).release();
    if (Status s = pg_->Exec("CREATE TABLE locked_table (id int)"); !s.ok()) {
      setup_error_ = s.ToString();
    }
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");  // of SetUpTestSuite
    ASSERT_NE(pg_, nullptr) << "PostgreSQL did not start";
    ASSERT_TRUE(pg_->Start().ok());
    // Sessions of earlier tests, such as a pg_sleep() whose client has gone,
    // must not be counted here.
    ASSERT_TRUE(pg_->Exec("SELECT pg_terminate_backend(pid) FROM "
                          "pg_stat_activity WHERE application_name LIKE 'it-%'")
                    .ok());
    ASSERT_TRUE(Eventually([] {
      auto n = pg_->QueryValue(
          "SELECT count(*) FROM pg_stat_activity WHERE "
          "backend_type = 'client backend' AND "
          "application_name <> 'pgconn-test-setup'");
      return n.ok() && *n == "0";
    }));
  }
  static TestPostgres* pg_;
  static std::string setup_error_;
};
TestPostgres* PostgresIntegrationTest::pg_ = nullptr;
std::string PostgresIntegrationTest::setup_error_;

TEST_F(PostgresIntegrationTest, CountsKnownConnectionsExactly) {
  const std::string url = pg_->Url();
  std::vector<std::unique_ptr<TestClient>> held;
  for (int i = 0; i < 3; ++i) held.push_back(MustOpen(url, "it-idle"));
  for (int i = 0; i < 2; ++i) {
    held.push_back(MustOpen(url, "it-active"));
    ASSERT_TRUE(held.back()->Send("SELECT pg_sleep(60)").ok());
  }
  for (int i = 0; i < 2; ++i) {
    held.push_back(MustOpen(url, "it-tx"));
    ASSERT_TRUE(held.back()->Exec("BEGIN; SELECT 1").ok());
  }
  held.push_back(MustOpen(url, "it-tx"));
  ASSERT_TRUE(held.back()->Exec("BEGIN").ok());
  EXPECT_FALSE(held.back()->Exec("SELECT 1/0").ok());  // aborted transaction
  held.push_back(MustOpen(url, ""));                   // no application name

  Harness h(Target(*pg_));
  std::map<std::string, double> s;
  ASSERT_TRUE(Eventually([&] {
    h.Poll();
    s = h.Samples();
    return s[Conn("it-active", "active")] == 2;
  })) << h.Text();
  EXPECT_EQ(s["pgconn_up{target=\"it\"}"], 1);
  EXPECT_EQ(s[Conn("it-idle", "idle")], 3);
  EXPECT_EQ(s[Conn("it-idle", "active")], 0);
  EXPECT_EQ(s[Conn("it-idle", "disabled")], 0);
  EXPECT_EQ(s[Conn("it-tx", "idle in transaction")], 2);
  EXPECT_EQ(s[Conn("it-tx", "idle in transaction (aborted)")], 1);
  EXPECT_EQ(s[Conn("(unset)", "idle")], 1);
  // Nine sessions of the test and the agent's own.
  EXPECT_EQ(s[Conn("pgconn-agent", "active")], 1);
  EXPECT_EQ(s["pgconn_used_connections{target=\"it\"}"], 10);
  EXPECT_EQ(s["pgconn_max_connections{target=\"it\"}"], 40);
  EXPECT_EQ(s["pgconn_reserved_connections{target=\"it\"}"], 3);
  EXPECT_EQ(s["pgconn_usable_connections{target=\"it\"}"], 37);
  EXPECT_EQ(s["pgconn_available_connections{target=\"it\"}"], 27);
  EXPECT_DOUBLE_EQ(s["pgconn_utilization_ratio{target=\"it\"}"], 10.0 / 37);
  EXPECT_DOUBLE_EQ(s["pgconn_idle_ratio{target=\"it\"}"], 4.0 / 10);
  EXPECT_EQ(s["pgconn_near_limit{target=\"it\"}"], 0);
  EXPECT_EQ(
      s["pgconn_database_connections{target=\"it\",database=\"postgres\"}"],
      10);
  EXPECT_EQ(s["pgconn_user_connections{target=\"it\",user=\"postgres\"}"], 10);
  EXPECT_EQ(s["pgconn_application_client_addresses{target=\"it\",application="
              "\"it-idle\"}"],
            1);
  EXPECT_GT(s["pgconn_oldest_transaction_seconds{target=\"it\",application="
              "\"it-tx\"}"],
            0);
  EXPECT_EQ(s["pgconn_oldest_idle_in_transaction_seconds{target=\"it\","
              "application=\"it-idle\"}"],
            0);
  EXPECT_GE(s["pgconn_backends{target=\"it\",backend_type=\"checkpointer\"}"],
            1);
  for (const char* c :
       {"settings", "activity", "databases", "users", "backends"}) {
    EXPECT_EQ(s["pgconn_collector_success{target=\"it\",collector=\"" +
                std::string(c) + "\"}"],
              1)
        << c;
  }

  // Ages grow while the sessions stay put.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  h.Poll();
  s = h.Samples();
  EXPECT_GE(s["pgconn_oldest_idle_in_transaction_seconds{target=\"it\","
              "application=\"it-tx\"}"],
            1.0);
  EXPECT_GE(
      s["pgconn_oldest_idle_seconds{target=\"it\",application=\"it-idle\"}"],
      1.0);

  // Closing them brings the counts back to zero for the next poll (the
  // sleeping ones keep running on the server until cancelled).
  for (const auto& c : held) {
    PGcancel* cancel = PQgetCancel(c->conn());
    char err[256];
    PQcancel(cancel, err, sizeof(err));
    PQfreeCancel(cancel);
  }
  held.clear();
  ASSERT_TRUE(Eventually([&] {
    h.Poll();
    return h.Samples()["pgconn_used_connections{target=\"it\"}"] == 1;
  })) << h.Text();
}

TEST_F(PostgresIntegrationTest, CountsItsOwnSessionUnderItsName) {
  Harness h(Target(*pg_));
  ASSERT_TRUE(h.Poll().up);
  // The agent's connection stays open between polls, under its own name,
  // and takes an ordinary slot like any client: it is counted.
  EXPECT_EQ(*pg_->QueryValue("SELECT count(*) FROM pg_stat_activity WHERE "
                             "application_name = 'pgconn-agent'"),
            "1");
  // psql's own backend above exits asynchronously after it disconnects:
  // poll until it is gone, then the agent alone is used.
  std::map<std::string, double> s;
  EXPECT_TRUE(Eventually([&] {
    if (!h.Poll().up) return false;
    s = h.Samples();
    return s["pgconn_used_connections{target=\"it\"}"] == 1;
  })) << h.Text();
  EXPECT_EQ(s[Conn("pgconn-agent", "active")], 1) << h.Text();
  EXPECT_EQ(*pg_->QueryValue("SELECT count(*) FROM pg_stat_activity WHERE "
                             "application_name = 'pgconn-agent'"),
            "1");
}

TEST_F(PostgresIntegrationTest, SessionSetsStatementTimeout) {
  PgSessionFactory f;
  SessionOptions o;
  o.statement_timeout = Duration(1234);
  auto session = f.Create(Target(*pg_), o);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  ASSERT_TRUE(session->Connect(deadline).ok());
  auto r = session->Execute("SHOW statement_timeout; SHOW application_name",
                            deadline);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(*(*r)[0].rows()[0][0], "1234ms");
  EXPECT_EQ(*(*r)[1].rows()[0][0], "pgconn-agent");
  EXPECT_GE(session->server_version(), 150000);
}

TEST_F(PostgresIntegrationTest, CountsLockWaiters) {
  const std::string url = pg_->Url();
  auto holder = MustOpen(url, "it-locker");
  ASSERT_TRUE(
      holder->Exec("BEGIN; LOCK TABLE locked_table IN ACCESS EXCLUSIVE MODE")
          .ok());
  auto w1 = MustOpen(url, "it-waiter");
  auto w2 = MustOpen(url, "it-waiter");
  ASSERT_TRUE(w1->Send("SELECT * FROM locked_table").ok());
  ASSERT_TRUE(w2->Send("SELECT * FROM locked_table").ok());
  Harness h(Target(*pg_));
  ASSERT_TRUE(Eventually([&] {
    h.Poll();
    return h.Samples()["pgconn_lock_waiting_connections{target=\"it\"}"] == 2;
  })) << h.Text();
  EXPECT_EQ(h.Samples()[Conn("it-waiter", "active")], 2);
  ASSERT_TRUE(holder->Exec("COMMIT").ok());
  ASSERT_TRUE(Eventually([&] {
    h.Poll();
    return h.Samples()["pgconn_lock_waiting_connections{target=\"it\"}"] == 0;
  })) << h.Text();
}

// pgconn_wait_event_connections (collector wait_events, a part of the one
// scan) against pg_stat_activity: sessions blocked on a lock wait on
// "Lock", idle ones and the lock holder (idle in transaction) on their
// client. Every pair the view shows for this test's applications is
// exported with the view's count, and none else.
TEST_F(PostgresIntegrationTest, CountsWaitEventsByApplication) {
  const std::string url = pg_->Url();
  auto holder = MustOpen(url, "it-we-locker");
  ASSERT_TRUE(
      holder->Exec("BEGIN; LOCK TABLE locked_table IN ACCESS EXCLUSIVE MODE")
          .ok());
  std::vector<std::unique_ptr<TestClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(MustOpen(url, "it-we-waiter"));
    ASSERT_TRUE(held.back()->Send("SELECT * FROM locked_table").ok());
  }
  for (int i = 0; i < 2; ++i) held.push_back(MustOpen(url, "it-we-idle"));
  // "application/wait_event_type=n,..." of the view and of the exposition.
  auto viewed = [] {
    auto v = pg_->QueryValue(
        "SELECT string_agg(application_name || '/' || wait_event_type || '=' "
        "|| n, ',' ORDER BY application_name, wait_event_type) FROM (SELECT "
        "application_name, wait_event_type, count(*) AS n FROM "
        "pg_stat_activity WHERE application_name LIKE 'it-we-%' AND "
        "wait_event_type IS NOT NULL GROUP BY 1, 2) s");
    return v.ok() ? *v : v.status().ToString();
  };
  Harness h(Target(*pg_));
  auto exported = [&] {
    const std::string prefix =
        "pgconn_wait_event_connections{target=\"it\",application=\"";
    std::string out;
    for (const auto& [series, value] : h.Samples()) {
      if (series.rfind(prefix + "it-we-", 0) != 0) continue;
      const size_t app_end = series.find('"', prefix.size());
      const size_t type_at = series.find("wait_event_type=\"", app_end);
      if (type_at == std::string::npos) continue;
      const size_t type_from = type_at + 17;
      if (!out.empty()) out += ',';
      out += series.substr(prefix.size(), app_end - prefix.size()) + '/' +
             series.substr(type_from, series.find('"', type_from) - type_from) +
             '=' + std::to_string(static_cast<int64_t>(value));
    }
    return out;
  };
  auto both_show = [&](const std::string& expected) {
    return Eventually([&] {
      h.Poll();
      return viewed() == expected && exported() == expected;
    });
  };
  EXPECT_TRUE(both_show(
      "it-we-idle/Client=2,it-we-locker/Client=1,it-we-waiter/Lock=3"))
      << "view: " << viewed() << "\nexported: " << exported() << "\n"
      << h.Text();
  // The waiters get the lock, run and go idle.
  ASSERT_TRUE(holder->Exec("COMMIT").ok());
  EXPECT_TRUE(both_show(
      "it-we-idle/Client=2,it-we-locker/Client=1,it-we-waiter/Client=3"))
      << "view: " << viewed() << "\nexported: " << exported() << "\n"
      << h.Text();
}

TEST_F(PostgresIntegrationTest, FoldsApplicationsBeyondTheLimit) {
  const std::string url = pg_->Url();
  std::vector<std::unique_ptr<TestClient>> held;
  // it-a: 4, it-b: 3, it-c: 2, it-d: 1, it-e: 1
  const std::vector<std::pair<std::string, int>> apps = {
      {"it-a", 4}, {"it-b", 3}, {"it-c", 2}, {"it-d", 1}, {"it-e", 1}};
  for (const auto& [app, n] : apps) {
    for (int i = 0; i < n; ++i) held.push_back(MustOpen(url, app));
  }
  PollerOptions o = Harness::Defaults();
  o.collector_context.max_applications = 2;
  Harness h(Target(*pg_), o);
  ASSERT_TRUE(h.Poll().up);
  auto s = h.Samples();
  EXPECT_EQ(s[Conn("it-a", "idle")], 4) << h.Text();
  EXPECT_EQ(s[Conn("it-b", "idle")], 3);
  EXPECT_EQ(s[Conn("(other)", "idle")], 4);
  // The agent's session (one, active) is among the folded names.
  EXPECT_EQ(s[Conn("(other)", "active")], 1);
  EXPECT_EQ(s.count(Conn("it-c", "idle")), 0u);
  EXPECT_EQ(s["pgconn_folded_applications{target=\"it\"}"], 4);
  EXPECT_EQ(s["pgconn_used_connections{target=\"it\"}"], 12);
}

TEST_F(PostgresIntegrationTest, DeclaredApplicationsAreNeverFolded) {
  const std::string url = pg_->Url();
  std::vector<std::unique_ptr<TestClient>> held;
  const std::vector<std::pair<std::string, int>> apps = {
      {"it-a", 4}, {"it-b", 3}, {"it-c", 2}, {"it-e", 1}};
  for (const auto& [app, n] : apps) {
    for (int i = 0; i < n; ++i) held.push_back(MustOpen(url, app));
  }
  PollerOptions o = Harness::Defaults();
  o.collector_context.max_applications = 2;
  TargetConfig t = Target(*pg_);
  PoolDeclaration pool;
  pool.application = "it-e";  // the smallest: folded first without a pool
  pool.pool_max = 5;
  t.pools = {pool};
  Harness h(t, o);
  ASSERT_TRUE(h.Poll().up);
  auto s = h.Samples();
  EXPECT_EQ(s[Conn("it-e", "idle")], 1) << h.Text();
  EXPECT_EQ(s[Conn("it-a", "idle")], 4);
  EXPECT_EQ(s[Conn("(other)", "idle")], 5);
  // it-b, it-c and the agent's own session.
  EXPECT_EQ(s["pgconn_folded_applications{target=\"it\"}"], 3);
}

TEST_F(PostgresIntegrationTest, ReportsDatabaseAndRoleLimits) {
  ASSERT_TRUE(pg_->Exec("CREATE DATABASE limited_db CONNECTION LIMIT 4").ok());
  ASSERT_TRUE(pg_->Exec("CREATE ROLE limited_role LOGIN PASSWORD 'pw' "
                        "CONNECTION LIMIT 2")
                  .ok());
  ASSERT_TRUE(
      pg_->Exec("GRANT CONNECT ON DATABASE limited_db TO limited_role").ok());
  auto a = MustOpen("postgresql://limited_role:pw@127.0.0.1:" +
                        std::to_string(pg_->port()) + "/limited_db",
                    "it-limits");
  auto b = MustOpen(pg_->Url("postgres", "limited_db"), "it-limits");
  Harness h(Target(*pg_));
  ASSERT_TRUE(h.Poll().up);
  auto s = h.Samples();
  EXPECT_EQ(
      s["pgconn_database_connections{target=\"it\",database=\"limited_db\"}"],
      2)
      << h.Text();
  EXPECT_EQ(s["pgconn_database_connection_limit{target=\"it\",database="
              "\"limited_db\"}"],
            4);
  EXPECT_DOUBLE_EQ(s["pgconn_database_connection_utilization_ratio{target="
                     "\"it\",database=\"limited_db\"}"],
                   0.5);
  EXPECT_EQ(s.count("pgconn_database_connection_limit{target=\"it\",database="
                    "\"postgres\"}"),
            0u);
  EXPECT_EQ(s["pgconn_user_connections{target=\"it\",user=\"limited_role\"}"],
            1);
  EXPECT_EQ(
      s["pgconn_user_connection_limit{target=\"it\",user=\"limited_role\"}"],
      2);
  EXPECT_DOUBLE_EQ(s["pgconn_user_connection_utilization_ratio{target=\"it\","
                     "user=\"limited_role\"}"],
                   0.5);
  a.reset();
  b.reset();
  ASSERT_TRUE(
      Eventually([&] { return pg_->Exec("DROP DATABASE limited_db").ok(); }));
  ASSERT_TRUE(pg_->Exec("DROP ROLE limited_role").ok());
}

TEST_F(PostgresIntegrationTest, CountsSessionsPerDatabase) {
  ASSERT_TRUE(pg_->Exec("CREATE DATABASE sessions_db").ok());
  const std::string url = pg_->Url("postgres", "sessions_db");
  {
    auto a = MustOpen(url, "it-sessions");
    auto b = MustOpen(url, "it-sessions");
    ASSERT_TRUE(a->Exec("SELECT pg_sleep(0.3)").ok());
  }  // both closed by their clients
  auto killed = MustOpen(url, "it-sessions");
  ASSERT_TRUE(pg_->Exec("SELECT pg_terminate_backend(pid) FROM "
                        "pg_stat_activity WHERE datname = 'sessions_db'")
                  .ok());
  Harness h(Target(*pg_));
  const std::string db = "{target=\"it\",database=\"sessions_db\"}";
  std::map<std::string, double> s;
  ASSERT_TRUE(Eventually([&] {
    h.Poll();
    s = h.Samples();
    return s["pgconn_database_sessions_total" + db] == 3 &&
           s["pgconn_database_sessions_killed_total" + db] == 1;
  })) << h.Text();
  EXPECT_EQ(s["pgconn_database_sessions_abandoned_total" + db], 0);
  EXPECT_EQ(s["pgconn_database_sessions_fatal_total" + db], 0);
  EXPECT_EQ(s["pgconn_database_idle_in_transaction_seconds_total" + db], 0);
  // pg_sleep(0.3) ran in one of them; the view reports milliseconds.
  EXPECT_GE(s["pgconn_database_active_seconds_total" + db], 0.3);
  EXPECT_LT(s["pgconn_database_active_seconds_total" + db], 30);
  EXPECT_GE(s["pgconn_database_session_seconds_total" + db],
            s["pgconn_database_active_seconds_total" + db]);
  EXPECT_EQ(s["pgconn_collector_success{target=\"it\",collector=\"sessions\"}"],
            1);
  // Only databases that accept connections, as pgconn_database_connections.
  EXPECT_EQ(s.count("pgconn_database_sessions_total{target=\"it\",database="
                    "\"template0\"}"),
            0u);
  EXPECT_EQ(s.count("pgconn_database_sessions_total{target=\"it\",database="
                    "\"template1\"}"),
            1u);
  killed.reset();
  ASSERT_TRUE(
      Eventually([&] { return pg_->Exec("DROP DATABASE sessions_db").ok(); }));
}

TEST_F(PostgresIntegrationTest, WithoutPgMonitorOtherSessionsAreUnknown) {
  ASSERT_TRUE(
      pg_->Exec("CREATE ROLE plain_monitor LOGIN PASSWORD 'secretpw'").ok());
  auto other = MustOpen(pg_->Url(), "it-hidden");
  TargetConfig t = Target(*pg_, "plain_monitor");
  t.password = Secret("secretpw");
  Harness h(t);
  ASSERT_TRUE(h.Poll().up) << h.Log();
  auto s = h.Samples();
  // Without pg_read_all_stats the state of another role's session is hidden.
  EXPECT_EQ(s[Conn("it-hidden", "unknown")], 1) << h.Text();
  EXPECT_EQ(s[Conn("it-hidden", "idle")], 0);
  ASSERT_TRUE(pg_->Exec("GRANT pg_monitor TO plain_monitor").ok());
  Harness granted(t);
  ASSERT_TRUE(granted.Poll().up);
  s = granted.Samples();
  EXPECT_EQ(s[Conn("it-hidden", "idle")], 1) << granted.Text();
  EXPECT_EQ(s.count(Conn("it-hidden", "unknown")), 0u);
  other.reset();
  ASSERT_TRUE(pg_->Exec("DROP ROLE plain_monitor").ok());
}

TEST_F(PostgresIntegrationTest, WrongPasswordIsAnAuthErrorAndNeverLogged) {
  ASSERT_TRUE(pg_->Exec("CREATE ROLE pw_role LOGIN PASSWORD 'right'").ok());
  TargetConfig t = Target(*pg_, "pw_role");
  t.password = Secret("wrong-hunter2");
  Harness h(t);
  TargetReport r = h.Poll();
  EXPECT_FALSE(r.up);
  EXPECT_EQ(r.stats.errors_total["auth"], 1u) << h.Log();
  EXPECT_EQ(h.Log().find("wrong-hunter2"), std::string::npos) << h.Log();
  EXPECT_EQ(h.Text().find("wrong-hunter2"), std::string::npos);
  ASSERT_TRUE(pg_->Exec("DROP ROLE pw_role").ok());
}

TEST_F(PostgresIntegrationTest,
       StatementTimeoutIsATimeoutAndTheSessionSurvives) {
  PollerOptions o = Harness::Defaults();
  o.query_timeout = Duration(500);
  Harness h(Target(*pg_), o);
  ASSERT_TRUE(h.Poll().up);
  const std::string pid_sql =
      "SELECT pid FROM pg_stat_activity WHERE application_name = "
      "'pgconn-agent'";
  auto pid_before = pg_->QueryValue(pid_sql);
  ASSERT_TRUE(pid_before.ok());
  // A session holding pg_database exclusively blocks the databases collector
  // (and any new connection, which is why the agent connected first).
  auto holder = MustOpen(pg_->Url(), "it-catalog-lock");
  ASSERT_TRUE(
      holder->Exec("BEGIN; LOCK TABLE pg_database IN ACCESS EXCLUSIVE MODE")
          .ok());
  const auto start = std::chrono::steady_clock::now();
  TargetReport r = h.Poll();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.up);
  EXPECT_EQ(r.stats.errors_total["timeout"], 1u) << h.Log();
  EXPECT_NE(h.Log().find("canceling statement due to statement timeout"),
            std::string::npos)
      << h.Log();
  EXPECT_LT(took,
            std::chrono::milliseconds(1400));  // before the client deadline
  ASSERT_TRUE(holder->Exec("COMMIT").ok());
  r = h.Poll();
  EXPECT_TRUE(r.up) << h.Log();
  // The same backend: the server-side timeout left the connection usable.
  EXPECT_EQ(*pg_->QueryValue(pid_sql), *pid_before);
}

TEST_F(PostgresIntegrationTest, DownWhileStoppedAndRecoversAfterRestart) {
  Harness h(Target(*pg_));
  ASSERT_TRUE(h.Poll().up);
  ASSERT_TRUE(pg_->Stop().ok());
  TargetReport r = h.Poll();
  EXPECT_FALSE(r.up);
  // The established connection breaks first; then connecting is refused.
  r = h.Poll();
  EXPECT_FALSE(r.up);
  EXPECT_GE(
      r.stats.errors_total["connection_lost"] + r.stats.errors_total["connect"],
      2u);
  EXPECT_GE(r.stats.errors_total["connect"], 1u) << h.Log();
  auto s = h.Samples();
  EXPECT_EQ(s["pgconn_up{target=\"it\"}"], 0);
  EXPECT_EQ(s["pgconn_max_connections{target=\"it\"}"],
            40);  // last snapshot kept
  ASSERT_TRUE(pg_->Start().ok());
  ASSERT_TRUE(Eventually([&] { return h.Poll().up; })) << h.Log();
  EXPECT_EQ(h.Samples()["pgconn_up{target=\"it\"}"], 1);
}

TEST(PostgresLimitTest, TooManyClientsIsItsOwnReason) {
  TestPostgres::Options o;
  o.max_connections = 6;
  o.superuser_reserved_connections = 2;
  auto pg = TestPostgres::Create(o);
  ASSERT_TRUE(pg.ok()) << pg.status().message();
  ASSERT_TRUE((*pg)->Exec("CREATE ROLE app LOGIN PASSWORD 'pw'").ok());
  const std::string app_url =
      "postgresql://app:pw@127.0.0.1:" + std::to_string((*pg)->port()) +
      "/postgres";
  std::vector<std::unique_ptr<TestClient>> held;
  for (int i = 0; i < 4; ++i) held.push_back(MustOpen(app_url, "it-filler"));

  TargetConfig t = Target(**pg, "app");
  t.password = Secret("pw");
  Harness blocked(t);
  TargetReport r = blocked.Poll();
  EXPECT_FALSE(r.up);
  EXPECT_EQ(r.stats.errors_total["too_many_clients"], 1u) << blocked.Log();

  // The superuser still gets in through a reserved slot and sees it all.
  Harness admin(Target(**pg));
  ASSERT_TRUE(admin.Poll().up) << admin.Log();
  auto s = admin.Samples();
  // Four fillers and the agent, in a reserved slot.
  EXPECT_EQ(s["pgconn_used_connections{target=\"it\"}"], 5);
  EXPECT_EQ(s["pgconn_usable_connections{target=\"it\"}"], 4);
  EXPECT_EQ(s["pgconn_available_connections{target=\"it\"}"], 0);
  EXPECT_EQ(s["pgconn_utilization_ratio{target=\"it\"}"], 1.25);
  EXPECT_EQ(s["pgconn_near_limit{target=\"it\"}"], 1);
}

// The guide's scenario at small scale: an agent connected as an ordinary
// role, clients of that role opening sessions until PostgreSQL refuses
// them. Available reaches 0 exactly when the next ordinary login is
// refused, and PgconnConnectionsExhausted's expression
// (pgconn_available_connections == 0 and pgconn_up == 1) holds.
TEST(PostgresLimitTest, AvailableIsZeroExactlyWhenOrdinaryLoginsAreRefused) {
  TestPostgres::Options o;
  o.max_connections = 8;
  o.superuser_reserved_connections = 3;
  auto pg = TestPostgres::Create(o);
  ASSERT_TRUE(pg.ok()) << pg.status().message();
  ASSERT_TRUE(
      (*pg)
          ->Exec("CREATE ROLE app LOGIN PASSWORD 'pw' IN ROLE pg_monitor")
          .ok());
  const std::string app_url =
      "postgresql://app:pw@127.0.0.1:" + std::to_string((*pg)->port()) +
      "/postgres";
  TargetConfig t = Target(**pg, "app");
  t.password = Secret("pw");
  Harness h(t);
  ASSERT_TRUE(h.Poll().up) << h.Log();
  std::vector<std::unique_ptr<TestClient>> held;
  int opened = 0;
  for (; opened < 20; ++opened) {
    // What the agent says just before the next ordinary login.
    ASSERT_TRUE(h.Poll().up) << h.Log();
    const double available =
        h.Samples()["pgconn_available_connections{target=\"it\"}"];
    auto c = TestClient::Open(app_url, "it-filler");
    if (!c.ok()) {
      EXPECT_NE(c.status().message().find("remaining connection slots are "
                                          "reserved"),
                std::string::npos)
          << c.status().message();
      EXPECT_EQ(available, 0) << h.Text();
      break;
    }
    EXPECT_GT(available, 0) << h.Text();
    held.push_back(std::move(*c));
  }
  // 8 - 3 reserved = 5 ordinary slots: the agent's and four fillers.
  EXPECT_EQ(opened, 4);
  auto s = h.Samples();
  EXPECT_EQ(s["pgconn_used_connections{target=\"it\"}"], 5) << h.Text();
  EXPECT_EQ(s[Conn("pgconn-agent", "active")], 1);
  EXPECT_EQ(s["pgconn_utilization_ratio{target=\"it\"}"], 1);
  const bool exhausted =
      s["pgconn_available_connections{target=\"it\"}"] == 0 &&
      s["pgconn_up{target=\"it\"}"] == 1;
  EXPECT_TRUE(exhausted) << h.Text();
}

}  // namespace
}  // namespace pgconn
