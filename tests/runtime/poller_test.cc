#include "runtime/poller.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <thread>

#include "fakes/canned_postgres.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_session.h"
#include "fakes/log_lines.h"
#include "pgbouncer/registry.h"
#include "pgconn/agent.h"
#include "postgres/observations.h"
#include "postgres/registry.h"

namespace pgconn {
namespace {

class PollerTest : public ::testing::Test {
 protected:
  PollerTest()
      : logger_(&log_, LogLevel::kInfo, LogFormat::kLogfmt, &clock_),
        factory_(&server_),
        publisher_(RenderBuildInfo(BuildInfo{"v", "r"})) {
    target_.name = "main";
    target_.host = "db";
    target_.password = Secret("hunter2");
    options_.poll_interval = Duration(1000);
    options_.connect_timeout = Duration(2000);
    options_.query_timeout = Duration(3000);
    server_.answer =
        [](std::string_view sql) -> Result<std::vector<ResultSet>> {
      return AnswerFrom(CannedPostgresAnswers(100, 8, 2), sql);
    };
  }

  FakeClock clock_;
  std::ostringstream log_;
  Logger logger_;
  FakeServer server_;
  FakeSessionFactory factory_;
  Publisher publisher_;
  TargetConfig target_;
  PollerOptions options_;
};

TEST_F(PollerTest, SuccessfulPollPublishesASnapshot) {
  TargetPoller poller(target_, options_, factory_, clock_, logger_,
                      &publisher_);
  TargetReport r = poller.PollOnce();
  EXPECT_TRUE(r.up);
  ASSERT_NE(r.snapshot, nullptr);
  EXPECT_EQ(r.snapshot->Find<ConnectionLimits>()->max_connections, 100);
  EXPECT_EQ(r.stats.polls_total, 1u);
  EXPECT_DOUBLE_EQ(r.stats.last_success_unix, 1700000000.0);
  EXPECT_EQ(server_.queries.size(), 1u);  // one round trip
  EXPECT_EQ(server_.last_options.statement_timeout.count(), 3000);
  EXPECT_EQ(server_.last_options.connect_timeout.count(), 2000);
  const std::string text = publisher_.Current()->text();
  EXPECT_NE(text.find("pgconn_up{target=\"main\"} 1"), std::string::npos);
  EXPECT_NE(text.find("pgconn_used_connections{target=\"main\"} 10"),
            std::string::npos);
  EXPECT_EQ(CountLines(log_.str(), "msg=\"target reachable\""), 1);
}

TEST_F(PollerTest, FailuresAreCountedByReasonAndLoggedOncePerChange) {
  server_.connect_results = {
      Status(StatusCode::kUnavailable, "connection refused"),
      Status(StatusCode::kUnavailable, "connection refused"),
      Status(StatusCode::kTooManyClients, "sorry, too many clients already"),
      Status(StatusCode::kUnauthenticated,
             "password authentication failed; password hunter2"),
  };
  TargetPoller poller(target_, options_, factory_, clock_, logger_,
                      &publisher_);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(poller.PollOnce().up);
  TargetReport r = poller.PollOnce();
  EXPECT_TRUE(r.up);
  EXPECT_EQ(r.stats.polls_total, 5u);
  EXPECT_EQ(r.stats.errors_total.at("connect"), 2u);
  EXPECT_EQ(r.stats.errors_total.at("too_many_clients"), 1u);
  EXPECT_EQ(r.stats.errors_total.at("auth"), 1u);
  const std::string log = log_.str();
  EXPECT_EQ(CountLines(log, "msg=\"poll failed\""), 3) << log;
  EXPECT_EQ(CountLines(log, "reason=connect"), 1);
  EXPECT_EQ(CountLines(log, "msg=\"target reachable\""), 1);
  EXPECT_EQ(log.find("hunter2"), std::string::npos) << log;
  const std::string text = publisher_.Current()->text();
  EXPECT_NE(
      text.find(
          "pgconn_poll_errors_total{target=\"main\",reason=\"connect\"} 2"),
      std::string::npos);
}

TEST_F(PollerTest, ADownTargetKeepsItsLastSnapshotAndReconnects) {
  TargetPoller poller(target_, options_, factory_, clock_, logger_,
                      &publisher_);
  ASSERT_TRUE(poller.PollOnce().up);
  const double first_success = publisher_.Reports()[0].stats.last_success_unix;
  server_.answer = [](std::string_view) -> Result<std::vector<ResultSet>> {
    return Status(StatusCode::kConnectionLost, "server closed the connection");
  };
  clock_.Advance(std::chrono::seconds(5));
  TargetReport r = poller.PollOnce();
  EXPECT_FALSE(r.up);
  ASSERT_NE(r.snapshot, nullptr);  // last known values stay
  EXPECT_EQ(r.stats.errors_total.at("connection_lost"), 1u);
  EXPECT_DOUBLE_EQ(r.stats.last_success_unix, first_success);
  EXPECT_EQ(server_.open_connections, 0);
  server_.answer = [](std::string_view sql) -> Result<std::vector<ResultSet>> {
    return AnswerFrom(CannedPostgresAnswers(100, 1, 0), sql);
  };
  clock_.Advance(std::chrono::seconds(5));
  r = poller.PollOnce();
  EXPECT_TRUE(r.up);
  EXPECT_EQ(server_.connects, 2);
  EXPECT_EQ(server_.max_open_connections, 1);
  EXPECT_DOUBLE_EQ(r.stats.last_success_unix, first_success + 10);
}

TEST_F(PollerTest, ACollectorFailureDoesNotFailThePoll) {
  server_.answer = [](std::string_view sql) -> Result<std::vector<ResultSet>> {
    if (sql.find("pg_roles") != std::string_view::npos) {
      return Status(StatusCode::kQueryFailed,
                    "permission denied for view pg_roles");
    }
    // Each collector alone after the batch failed.
    return AnswerFrom(CannedPostgresAnswers(100, 1, 0), sql);
  };
  TargetPoller poller(target_, options_, factory_, clock_, logger_,
                      &publisher_);
  TargetReport r = poller.PollOnce();
  EXPECT_TRUE(r.up);
  ASSERT_NE(r.snapshot, nullptr);
  int failed = 0;
  for (const auto& c : r.snapshot->collectors) failed += c.success ? 0 : 1;
  EXPECT_EQ(failed, 1);
  poller.PollOnce();
  EXPECT_EQ(CountLines(log_.str(), "msg=\"collector failed\""), 1);
  const std::string text = publisher_.Current()->text();
  EXPECT_NE(
      text.find(
          "pgconn_collector_success{target=\"main\",collector=\"users\"} 0"),
      std::string::npos);
  EXPECT_NE(text.find("pgconn_max_connections{target=\"main\"} 100"),
            std::string::npos);
}

TEST(BackoffTest, DoublesUpToTheCapAndResets) {
  Backoff b(Duration(1000), Duration(5000), [] { return 0.5; });
  EXPECT_EQ(b.Next().count(), 1000);
  EXPECT_EQ(b.Next().count(), 2000);
  EXPECT_EQ(b.Next().count(), 4000);
  EXPECT_EQ(b.Next().count(), 5000);
  EXPECT_EQ(b.Next().count(), 5000);
  for (int i = 0; i < 100; ++i) b.Next();  // no overflow after many failures
  EXPECT_EQ(b.Next().count(), 5000);
  b.Reset();
  EXPECT_EQ(b.Next().count(), 1000);
}

TEST(BackoffTest, JitterStaysWithinTenPercent) {
  Backoff low(Duration(1000), Duration(1000), [] { return 0.0; });
  EXPECT_EQ(low.Next().count(), 900);
  Backoff high(Duration(1000), Duration(1000), [] { return 0.999999; });
  EXPECT_EQ(high.Next().count(), 1099);
}

TEST(StopSignalTest, WakesASleeperPromptly) {
  StopSignal stop;
  EXPECT_FALSE(stop.WaitFor(std::chrono::milliseconds(1)));
  const auto start = std::chrono::steady_clock::now();
  std::thread t([&] { stop.Stop(); });
  EXPECT_TRUE(stop.WaitFor(std::chrono::seconds(30)));
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(stop.stopped());
}

TEST(AgentTest, PollsEveryTargetOnItsOwnThreadAndStops) {
  FakeClock clock;
  std::ostringstream log;
  Logger logger(&log, LogLevel::kInfo, LogFormat::kLogfmt, &clock);
  FakeServer server;
  server.answer = [](std::string_view sql) -> Result<std::vector<ResultSet>> {
    return AnswerFrom(CannedPostgresAnswers(50, 1, 1), sql);
  };
  FakeSessionFactory factory(&server);
  Config config;
  config.poll_interval = Duration(10);
  TargetConfig a, b;
  a.name = "a";
  b.name = "b";
  config.targets = {a, b};
  Agent agent(config, factory, clock, logger);
  EXPECT_FALSE(agent.publisher().Ready());
  agent.Start();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!agent.publisher().Ready() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  agent.Stop();
  ASSERT_TRUE(agent.publisher().Ready());
  const std::string text = agent.publisher().Current()->text();
  EXPECT_NE(text.find("pgconn_up{target=\"a\"} 1"), std::string::npos);
  EXPECT_NE(text.find("pgconn_up{target=\"b\"} 1"), std::string::npos);
  EXPECT_EQ(server.open_connections, 0);  // closed on stop
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

TEST_F(PollerTest, SwitchedOffCollectorsSendNoStatement) {
  options_.collectors["backends"] = {false, "flag --no-collector.backends"};
  options_.collectors["users"] = {false, "flag --no-collector.users"};
  target_.collectors["users"] = {true, "c.yaml:9:7"};  // the target wins
  TargetPoller poller(target_, options_, factory_, clock_, logger_,
                      &publisher_);
  ASSERT_TRUE(poller.PollOnce().up);
  ASSERT_EQ(server_.queries.size(), 1u);
  EXPECT_EQ(server_.queries[0].find("/* pgconn:backends */"),
            std::string::npos);
  EXPECT_NE(server_.queries[0].find("/* pgconn:users */"), std::string::npos);
  const std::string text = publisher_.Current()->text();
  EXPECT_EQ(text.find("pgconn_backends{"), std::string::npos);
  EXPECT_EQ(text.find("collector=\"backends\""), std::string::npos);
  EXPECT_NE(text.find("pgconn_user_connections{"), std::string::npos);
}

TEST_F(PollerTest, CollectorsTheServerIsTooOldForAreLeftOut) {
  server_.server_version = 130012;  // no session counters before 14
  TargetPoller poller(target_, options_, factory_, clock_, logger_,
                      &publisher_);
  ASSERT_TRUE(poller.PollOnce().up);
  EXPECT_EQ(server_.queries[0].find("/* pgconn:sessions */"),
            std::string::npos);
  const std::string text = publisher_.Current()->text();
  EXPECT_EQ(text.find("collector=\"sessions\""), std::string::npos);
  EXPECT_EQ(text.find("pgconn_database_sessions_total"), std::string::npos);

  server_.server_version = 150000;
  FakeServer fresh;
  fresh.answer = server_.answer;
  FakeSessionFactory factory(&fresh);
  TargetPoller pg15(target_, options_, factory, clock_, logger_, &publisher_);
  ASSERT_TRUE(pg15.PollOnce().up);
  EXPECT_NE(fresh.queries[0].find("/* pgconn:sessions */"), std::string::npos);
  EXPECT_NE(publisher_.Current()->text().find(
                "pgconn_collector_success{target=\"main\",collector="
                "\"sessions\"} 1"),
            std::string::npos);
}

TEST_F(PollerTest, ASplitBatchIsLoggedOnceAndStillCollects) {
  server_.answer = [](std::string_view sql) -> Result<std::vector<ResultSet>> {
    // A proxy that answers only the first statement of a batch.
    auto all = AnswerFrom(CannedPostgresAnswers(100, 8, 2), sql);
    if (all.ok() && all->size() > 1) all->resize(1);
    return all;
  };
  TargetPoller poller(target_, options_, factory_, clock_, logger_,
                      &publisher_);
  ASSERT_TRUE(poller.PollOnce().up);
  ASSERT_TRUE(poller.PollOnce().up);
  EXPECT_EQ(CountLines(log_.str(), "msg=\"batch split\""), 1) << log_.str();
  EXPECT_NE(log_.str().find("batch returned 1 results, expected"),
            std::string::npos);
  EXPECT_NE(publisher_.Current()->text().find(
                "pgconn_used_connections{target=\"main\"} 10"),
            std::string::npos);
}

TEST(CollectorSwitchTest, ValidatedAgainstTheRegistryOfTheirKind) {
  Config ok;
  ok.collectors["pgbouncer_lists"] = {false,
                                      "flag --no-collector.pgbouncer_lists"};
  TargetConfig pg;
  pg.name = "pg";
  pg.collectors["sessions"] = {false, "c.yaml:4:7"};
  ok.targets = {pg};
  EXPECT_TRUE(ValidateCollectorSwitches(ok).ok());

  Config unknown = ok;
  unknown.collectors["sesions"] = {false, "flag --no-collector.sesions"};
  Status s = ValidateCollectorSwitches(unknown);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("flag --no-collector.sesions: unknown collector "
                              "\"sesions\" (known: settings, ",
                              0),
            0u)
      << s.message();

  Config wrong_kind = ok;
  wrong_kind.targets[0].collectors["pgbouncer_pools"] = {false, "c.yaml:5:7"};
  s = ValidateCollectorSwitches(wrong_kind);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("c.yaml:5:7: unknown collector "
                             "\"pgbouncer_pools\" for a postgres target"),
            std::string::npos)
      << s.message();

  Config hostile = ok;
  hostile.collectors[std::string(300, 'x') + "\n"] = {true, "c.yaml:2:3"};
  s = ValidateCollectorSwitches(hostile);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("c.yaml:2:3: unknown collector (a name that is "
                             "not a collector's)"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("xxxx"), std::string::npos);
}

TEST(CollectorSwitchTest, HelpListsEveryCollectorOnceWithItsDefault) {
  const std::string help = CollectorFlagsHelp();
  std::set<std::string> names;
  for (const auto* table : {&PostgresCollectors(), &PgBouncerCollectors()}) {
    for (const CollectorEntry& e : *table) {
      // One namespace of names for --collector.NAME across kinds.
      EXPECT_TRUE(names.insert(std::string(e.name)).second) << e.name;
      const std::string line = "--collector." + std::string(e.name);
      const size_t at = help.find(line + " ");
      ASSERT_NE(at, std::string::npos) << e.name;
      const size_t eol = help.find('\n', at);
      EXPECT_NE(help.substr(at, eol - at)
                    .find(e.enabled_by_default ? "[on]" : "[off]"),
                std::string::npos)
          << e.name;
    }
  }
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

TEST_F(PollerTest, AnUnreadablePasswordFileIsItsOwnReason) {
  server_.connect_results.push_back(Status::IoError(
      "password_file /run/secrets/pg: cannot read: No such file or directory"));
  TargetPoller poller(target_, options_, factory_, clock_, logger_,
                      &publisher_);
  TargetReport r = poller.PollOnce();
  EXPECT_FALSE(r.up);
  EXPECT_EQ(r.stats.errors_total["password_file"], 1u);
  EXPECT_NE(publisher_.Current()->text().find(
                "pgconn_poll_errors_total{target=\"main\",reason="
                "\"password_file\"} 1"),
            std::string::npos);
  EXPECT_NE(log_.str().find("reason=password_file"), std::string::npos)
      << log_.str();
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

// Each reading of the monotonic clock moves it 1 ms on: a duration then
// counts the readings between its two ends.
class TickingClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(
        std::chrono::seconds(1'700'000'000));
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    std::lock_guard<std::mutex> l(mu_);
    mono_ += std::chrono::milliseconds(1);
    return mono_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::chrono::steady_clock::time_point mono_{};
};

TEST_F(PollerTest, PublishedPollDurationIsTheReportsAndCoversTheQuery) {
  TickingClock ticking;
  server_.answer = [&](std::string_view sql) {
    // The round trip reads the clock; so must the rest of the poll.
    for (int i = 0; i < 250; ++i) ticking.Monotonic();
    return AnswerFrom(CannedPostgresAnswers(100, 8, 2), sql);
  };
  TargetPoller poller(target_, options_, factory_, ticking, logger_,
                      &publisher_);
  const TargetReport r = poller.PollOnce();
  ASSERT_TRUE(r.up);
  // The value stamped into the published part after rendering is the
  // report's (TargetPipelineTest checks the stamping itself).
  EXPECT_GT(r.stats.last_duration_seconds, 0.250);
  char want[64];
  std::snprintf(want, sizeof(want),
                "pgconn_poll_duration_seconds{target=\"main\"} %g",
                r.stats.last_duration_seconds);
  EXPECT_NE(publisher_.Current()->text().find(want), std::string::npos)
      << want << "\n"
      << publisher_.Current()->text();
}

}  // namespace
}  // namespace pgconn
