// Recovery, shutdown during a poll, and reloading the configuration of a
// running agent, against scripted sessions.
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "fakes/canned_postgres.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_session.h"
#include "fakes/log_lines.h"
#include "pgconn/agent.h"
#include "runtime/poller.h"

namespace pgconn {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

template <typename F>
bool Eventually(F f, milliseconds timeout = milliseconds(10000)) {
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return f();
}

// A logger sink several threads write to.
class LockedStream : public std::stringbuf {
 public:
  std::string str_locked() {
    std::lock_guard<std::recursive_mutex> l(mu_);
    return str();
  }

 protected:
  int sync() override { return 0; }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::recursive_mutex> l(mu_);
    return std::stringbuf::xsputn(s, n);
  }
  int overflow(int c) override {
    std::lock_guard<std::recursive_mutex> l(mu_);
    return std::stringbuf::overflow(c);
  }

 private:
  // Recursive: stringbuf::xsputn may call overflow().
  std::recursive_mutex mu_;
};

class ReloadTest : public ::testing::Test {
 protected:
  ReloadTest()
      : out_(&buf_),
        logger_(&out_, LogLevel::kInfo, LogFormat::kLogfmt, &clock_),
        factory_(&server_) {
    server_.answer = [](std::string_view sql) {
      return AnswerFrom(CannedPostgresAnswers(50, 1, 1), sql);
    };
    config_.poll_interval = Duration(20);
  }
  static TargetConfig Target(const std::string& name) {
    TargetConfig t;
    t.name = name;
    t.host = name + ".db";
    return t;
  }
  std::string Text(const Agent& a) { return a.publisher().Current()->text(); }
  int Connects() {
    std::lock_guard<std::mutex> l(server_.mu);
    return server_.connects;
  }

  FakeClock clock_;
  LockedStream buf_;
  std::ostream out_;
  Logger logger_;
  FakeServer server_;
  FakeSessionFactory factory_;
  Config config_;
};

TEST_F(ReloadTest, KeepsUnchangedTargetsStartsAddedOnesAndStopsRemovedOnes) {
  config_.targets = {Target("a"), Target("b")};
  Agent agent(config_, factory_, clock_, logger_);
  agent.Start();
  ASSERT_TRUE(Eventually([&] { return agent.publisher().Ready(); }));
  EXPECT_EQ(Connects(), 2);
  EXPECT_NE(Text(agent).find("pgconn_config_last_reload_successful 1"),
            std::string::npos);

  Config next = config_;
  next.targets = {Target("a"), Target("c")};
  next.targets[0].origin = "moved.yaml:9:5";  // where it is written: no change
  ASSERT_TRUE(agent.Reload(next).ok());
  ASSERT_TRUE(Eventually([&] { return agent.publisher().Ready(); }));
  const std::string text = Text(agent);
  EXPECT_NE(text.find("pgconn_up{target=\"a\"} 1"), std::string::npos);
  EXPECT_NE(text.find("pgconn_up{target=\"c\"} 1"), std::string::npos);
  EXPECT_EQ(text.find("target=\"b\""), std::string::npos) << text;
  // "a" kept its session: the only new connection is c's.
  EXPECT_EQ(Connects(), 3);
  EXPECT_EQ(CountLines(buf_.str_locked(),
                       "msg=\"configuration reloaded\" targets=2 kept=1 "
                       "added=1 changed=0 removed=1"),
            1)
      << buf_.str_locked();

  // A changed target is restarted; still one connection per target.
  Config changed = next;
  changed.targets[1].port = "6543";
  ASSERT_TRUE(agent.Reload(changed).ok());
  ASSERT_TRUE(Eventually([&] { return Connects() == 4; }));
  agent.Stop();
  EXPECT_EQ(server_.max_open_connections, 2);
  EXPECT_EQ(server_.open_connections, 0);
}

TEST_F(ReloadTest, ChangedPollingSettingsRestartEveryTarget) {
  config_.targets = {Target("a")};
  Agent agent(config_, factory_, clock_, logger_);
  agent.Start();
  ASSERT_TRUE(Eventually([&] { return agent.publisher().Ready(); }));
  Config next = config_;
  next.poll_interval = Duration(250);
  ASSERT_TRUE(agent.Reload(next).ok());
  ASSERT_TRUE(Eventually([&] { return Connects() == 2; }));
  ASSERT_TRUE(Eventually([&] {
    return Text(agent).find(
               "pgconn_poll_interval_seconds{target=\"a\"} 0.25") !=
           std::string::npos;
  })) << Text(agent);
  agent.Stop();
}

TEST_F(ReloadTest, AnInvalidConfigurationIsRefusedAndTheOldOneKeepsRunning) {
  config_.targets = {Target("a")};
  clock_.Advance(std::chrono::seconds(100));
  Agent agent(config_, factory_, clock_, logger_);
  agent.Start();
  ASSERT_TRUE(Eventually([&] { return agent.publisher().Ready(); }));
  const std::string before = Text(agent);
  EXPECT_NE(before.find("pgconn_config_last_reload_success_timestamp_seconds "
                        "1700000100"),
            std::string::npos)
      << before;

  Config bad = config_;
  bad.targets = {Target("z")};
  bad.collectors["no_such_collector"] = {false, "bad.yaml:3:3"};
  clock_.Advance(std::chrono::seconds(50));
  const Status s = agent.Reload(bad);
  EXPECT_FALSE(s.ok());
  agent.ReloadFailed(Status::InvalidArgument("bad.yaml:1:1: invalid YAML"));
  const std::string after = Text(agent);
  EXPECT_NE(after.find("pgconn_config_last_reload_successful 0"),
            std::string::npos);
  EXPECT_NE(after.find("pgconn_config_last_reload_success_timestamp_seconds "
                       "1700000100"),
            std::string::npos);
  EXPECT_NE(after.find("pgconn_up{target=\"a\"} 1"), std::string::npos);
  EXPECT_EQ(after.find("target=\"z\""), std::string::npos);
  const std::string log = buf_.str_locked();
  EXPECT_EQ(CountLines(log, "level=error msg=\"configuration reload refused"),
            2);
  EXPECT_EQ(CountLines(log, "err=\"bad.yaml:3:3: unknown collector"), 1) << log;
  EXPECT_EQ(Connects(), 1);

  // A good one afterwards clears the failure.
  ASSERT_TRUE(agent.Reload(config_).ok());
  EXPECT_NE(Text(agent).find("pgconn_config_last_reload_successful 1"),
            std::string::npos);
  EXPECT_NE(
      Text(agent).find("pgconn_config_last_reload_success_timestamp_seconds "
                       "1700000150"),
      std::string::npos);
  agent.Stop();
}

TEST_F(ReloadTest, ReloadsFromAnotherThreadWhileScrapesRead) {
  config_.targets = {Target("a"), Target("b")};
  Agent agent(config_, factory_, clock_, logger_);
  agent.Start();
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) (void)agent.publisher().Current();
  });
  for (int i = 0; i < 20; ++i) {
    Config next = config_;
    if (i % 2 == 1) next.targets.push_back(Target("c"));
    std::thread reloader([&] { EXPECT_TRUE(agent.Reload(next).ok()); });
    reloader.join();
  }
  done = true;
  scraper.join();
  agent.Stop();
  EXPECT_LE(server_.max_open_connections, 3);
  EXPECT_EQ(server_.open_connections, 0);
}

TEST_F(ReloadTest, AFailedTargetIsRetriedOncePerIntervalNotWithBackoff) {
  // Five refusals, then the server accepts. With the backoff between
  // attempts (20, 40, 80, 160, 320 ms) recovery took 620 ms; one attempt
  // per interval takes 5 x 20 ms.
  for (int i = 0; i < 5; ++i) {
    server_.connect_results.push_back(
        Status(StatusCode::kUnavailable, "connection refused"));
  }
  config_.backoff_max = Duration(10000);
  config_.targets = {Target("a")};
  Agent agent(config_, factory_, clock_, logger_);
  const auto start = steady_clock::now();
  agent.Start();
  ASSERT_TRUE(Eventually([&] {
    return Text(agent).find("pgconn_up{target=\"a\"} 1") != std::string::npos;
  }));
  const auto took = steady_clock::now() - start;
  agent.Stop();
  EXPECT_EQ(server_.connects, 6);
  EXPECT_EQ(server_.max_open_connections, 1);
  EXPECT_LT(took, milliseconds(500));
  // The attempts are not faster than the interval either.
  EXPECT_GE(took, milliseconds(5 * 20));
  EXPECT_EQ(CountLines(buf_.str_locked(), "msg=\"poll failed\""), 1);
}

TEST_F(ReloadTest, StoppingDuringAPollIsNotAPollError) {
  StopSignal stop;
  server_.answer = [&](std::string_view) -> Result<std::vector<ResultSet>> {
    stop.Stop();  // SIGTERM arrives while the statement runs
    return Status(StatusCode::kDeadlineExceeded, "interrupted");
  };
  PollerOptions options;
  Publisher publisher(RenderBuildInfo(BuildInfo{"v", "r"}));
  TargetPoller poller(Target("a"), options, factory_, clock_, logger_,
                      &publisher, stop.flag());
  poller.PublishInitial();
  const TargetReport r = poller.PollOnce();
  EXPECT_TRUE(r.stats.errors_total.empty());
  EXPECT_EQ(buf_.str_locked().find("poll failed"), std::string::npos);
  const std::string text = publisher.Current()->text();
  EXPECT_NE(
      text.find("pgconn_poll_errors_total{target=\"a\",reason=\"timeout\"} 0"),
      std::string::npos)
      << text;
  // The same failure without a stop is one.
  StopSignal running;
  TargetPoller other(Target("b"), options, factory_, clock_, logger_,
                     &publisher, running.flag());
  server_.answer = [](std::string_view) -> Result<std::vector<ResultSet>> {
    return Status(StatusCode::kDeadlineExceeded, "timed out");
  };
  EXPECT_EQ(other.PollOnce().stats.errors_total.at("timeout"), 1u);
  EXPECT_EQ(CountLines(buf_.str_locked(), "msg=\"poll failed\""), 1);
}

}  // namespace
}  // namespace pgconn
