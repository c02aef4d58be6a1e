// The server-log follower and the peak gauges against a real PostgreSQL
// whose logging collector writes to a file the test owns: sessions are
// opened until ordinary logins are refused, and the refusals the agent
// counts from the log must equal the refusals the clients saw, across a
// log rotation.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <thread>

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

using LogHarness = testing::PollHarness;

std::string Refused(const std::string& reason) {
  return "pgconn_connections_refused_total{target=\"it\",reason=\"" + reason +
         "\"}";
}

class ServerLogIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TestPostgres::Options o;
    o.max_connections = 10;
    o.superuser_reserved_connections = 3;
    o.extra_settings = {
        "logging_collector = on",
        "log_destination = 'stderr'",
        "log_directory = 'log'",
        "log_filename = 'postgresql.log'",
        "log_rotation_age = 0",
        "log_rotation_size = 0",
        "log_line_prefix = '%m [%p] %q%u@%d '",
        "log_connections = on",
        "lc_messages = 'C'",
    };
    auto pg = TestPostgres::Create(o);
    if (!pg.ok()) {
      setup_error_ = pg.status().ToString();
      return;
    }
    pg_ = std::move(*pg).release();
    if (Status s = pg_->Start(); !s.ok()) setup_error_ = s.ToString();
    if (Status s = pg_->Exec("CREATE ROLE worker LOGIN PASSWORD 'pw'");
        !s.ok()) {
      setup_error_ = s.ToString();
    }
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");
    ASSERT_NE(pg_, nullptr);
    ASSERT_TRUE(pg_->Start().ok());
    ASSERT_TRUE(Eventually([] {
      FILE* f = std::fopen(LogPath().c_str(), "r");
      if (f != nullptr) std::fclose(f);
      return f != nullptr;
    })) << LogPath();
  }

  static std::string LogPath() {
    return pg_->dir() + "/data/log/postgresql.log";
  }

  static std::string WorkerUrl() {
    return "postgresql://worker:pw@127.0.0.1:" + std::to_string(pg_->port()) +
           "/postgres";
  }

  TargetConfig Target() const {
    TargetConfig t;
    t.name = "it";
    t.host = "127.0.0.1";
    t.port = std::to_string(pg_->port());
    t.user = "postgres";
    t.dbname = "postgres";
    ServerLogConfig log;
    log.path = LogPath();
    t.server_log = log;
    return t;
  }

  static TestPostgres* pg_;
  static std::string setup_error_;
};
TestPostgres* ServerLogIntegrationTest::pg_ = nullptr;
std::string ServerLogIntegrationTest::setup_error_;

TEST_F(ServerLogIntegrationTest, RefusalsFromTheLogEqualClientFailures) {
  LogHarness h(Target());
  ASSERT_TRUE(h.Poll().up);  // the agent (a superuser) holds one slot
  EXPECT_EQ(h.Sample("pgconn_server_log_up{target=\"it\"}"), 1);
  const std::string url = WorkerUrl();
  std::vector<std::unique_ptr<TestClient>> held;
  int refused = 0;
  int accepted = 0;
  auto attempt = [&] {
    auto c = TestClient::Open(url, "it-worker");
    if (c.ok()) {
      held.push_back(std::move(*c));
      ++accepted;
    } else if (c.status().message().find("remaining connection slots are "
                                         "reserved") != std::string::npos ||
               c.status().message().find("too many clients") !=
                   std::string::npos) {
      ++refused;
    } else {
      ADD_FAILURE() << c.status().message();
    }
  };
  // Until ordinary logins are refused, then a few more refusals.
  for (int i = 0; i < 20 && refused < 4; ++i) attempt();
  ASSERT_EQ(refused, 4);
  // 10 slots - 3 reserved - the agent's own session.
  EXPECT_EQ(accepted, 6);

  // Rotation mid-test: the file is renamed, then PostgreSQL opens a new one.
  ASSERT_EQ(std::rename(LogPath().c_str(), (LogPath() + ".1").c_str()), 0);
  ASSERT_TRUE(pg_->Exec("SELECT pg_rotate_logfile()").ok());
  ASSERT_TRUE(Eventually([] {
    FILE* f = std::fopen(LogPath().c_str(), "r");
    if (f != nullptr) std::fclose(f);
    return f != nullptr;
  }));
  for (int i = 0; i < 3; ++i) attempt();
  EXPECT_EQ(refused, 7);

  const bool counted = Eventually([&] {
    h.Poll();
    return h.Sample(Refused("reserved_slots")) +
               h.Sample(Refused("max_connections")) ==
           refused;
  });
  EXPECT_TRUE(counted) << h.Text();
  EXPECT_EQ(h.Sample(Refused("reserved_slots")), refused);
  EXPECT_EQ(h.Sample(Refused("authentication")), 0);
  // PostgreSQL logs "connection authorized" after authentication and only
  // then checks the reserved slots: the attempts refused that way were
  // authorized first, and are not counted; the sessions that got in are.
  EXPECT_TRUE(Eventually([&] {
    h.Poll();
    return h.Sample(
               "pgconn_connections_authorized_total{target=\"it\","
               "application=\"it-worker\"}") == accepted;
  })) << h.Text();
  EXPECT_EQ(h.Sample("pgconn_server_log_errors_total{target=\"it\"}"), 0);
  held.clear();
  ASSERT_TRUE(pg_->Exec("SELECT pg_terminate_backend(pid) FROM "
                        "pg_stat_activity WHERE usename = 'worker'")
                  .ok());
}

TEST_F(ServerLogIntegrationTest, SpikeShorterThanAScrapeStaysInThePeak) {
  LogHarness h(Target());
  ASSERT_TRUE(h.Poll().up);
  const double before = h.Sample("pgconn_used_connections{target=\"it\"}");
  ASSERT_GE(before, 0);
  constexpr int kSpike = 5;
  {
    std::vector<std::unique_ptr<TestClient>> spike;
    for (int i = 0; i < kSpike; ++i) {
      auto c = TestClient::Open(WorkerUrl(), "it-spike");
      ASSERT_TRUE(c.ok()) << c.status().message();
      spike.push_back(std::move(*c));
    }
    // Two seconds of polls every 200 ms while the spike lasts.
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < end) {
      ASSERT_TRUE(h.Poll().up);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  ASSERT_TRUE(Eventually([&] {
    h.Poll();
    return h.Sample("pgconn_used_connections{target=\"it\"}") == before;
  }));
  // Gone now, still in the peak.
  EXPECT_EQ(h.Sample("pgconn_used_connections_peak{target=\"it\"}"),
            before + kSpike);
  EXPECT_EQ(h.Sample("pgconn_application_connections_peak{target=\"it\","
                     "application=\"it-spike\"}"),
            kSpike);
}

TEST_F(ServerLogIntegrationTest, MissingLogIsAnErrorNotACrash) {
  TargetConfig t = Target();
  t.server_log->path = pg_->dir() + "/no-such.log";
  LogHarness h(t);
  ASSERT_TRUE(h.Poll().up);  // polling goes on
  EXPECT_EQ(h.Sample("pgconn_server_log_up{target=\"it\"}"), 0);
  EXPECT_EQ(h.Sample("pgconn_server_log_errors_total{target=\"it\"}"), 1);
}

}  // namespace
}  // namespace pgconn
