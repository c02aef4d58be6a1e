// Counters that only go up and count what they say, against a real server
// of every major (the version matrix runs this file once per major):
// sessions found by identity even when their login overlaps a poll, and a
// churn of short sessions and refusals, scraped all along, across a
// reload that rebuilds the target's poller.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/eventually.h"
#include "integration/exposition_parser.h"
#include "integration/pg_server.h"
#include "integration/poll_harness.h"
#include "integration/source_address_relay.h"
#include "pgconn/agent.h"
#include "pgconn/session.h"

namespace pgconn {
namespace {

using testing::Eventually;
using testing::ParseSamples;
using testing::PollHarness;
using testing::SourceAddressRelay;
using testing::TestClient;
using testing::TestPostgres;

TargetConfig Target(const TestPostgres& pg) {
  TargetConfig t;
  t.name = "it";
  t.host = "127.0.0.1";
  t.port = std::to_string(pg.port());
  t.user = "postgres";
  t.dbname = "postgres";
  return t;
}

std::string Opened(const std::string& app) {
  return "pgconn_connections_opened_total{target=\"it\",application=\"" + app +
         "\"}";
}

// A client that connects, then waits 1.5 s before its startup packet (a
// slow link, a slow TLS or SCRAM client): its backend starts at once
// (backend_start), but shows in pg_stat_activity only after its login. The
// polls in between must not make it count as old, nor the later ones
// count it twice.
TEST(CountersTest, ALoginThatOverlapsAPollIsCountedOnce) {
  auto created = TestPostgres::Create(TestPostgres::Options{});
  ASSERT_TRUE(created.ok()) << created.status().message();
  TestPostgres& pg = **created;
  PollHarness h(Target(pg));
  ASSERT_TRUE(h.Poll().up) << h.Log();  // the first poll counts nothing
  auto relay = SourceAddressRelay::Start("127.0.0.1", "127.0.0.1", pg.port(),
                                         std::chrono::milliseconds(1500));
  ASSERT_TRUE(relay.ok()) << relay.status().message();
  std::atomic<bool> connected{false};
  std::unique_ptr<TestClient> slow;
  std::thread client([&] {
    auto c = TestClient::Open(
        "postgresql://postgres@127.0.0.1:" + std::to_string((*relay)->port()) +
            "/postgres",
        "it-slow");
    EXPECT_TRUE(c.ok()) << c.status().message();
    if (c.ok()) slow = std::move(*c);
    connected = true;
  });
  // Polls while the login is under way, after its backend started.
  int polls_during_login = 0;
  while (!connected) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (connected) break;
    ASSERT_TRUE(h.Poll().up) << h.Log();
    ++polls_during_login;
  }
  client.join();
  ASSERT_NE(slow, nullptr);
  EXPECT_GE(polls_during_login, 10);
  ASSERT_TRUE(Eventually([&] {
    h.Poll();
    return h.Sample(Opened("it-slow")) == 1;
  })) << h.Text();
  // Seen again and again, counted once.
  for (int i = 0; i < 5; ++i) h.Poll();
  EXPECT_EQ(h.Sample(Opened("it-slow")), 1) << h.Text();
  // Gone: its series stays, with its count.
  slow.reset();
  ASSERT_TRUE(Eventually([&] {
    h.Poll();
    return h.Sample("pgconn_used_connections{target=\"it\"}") == 1;
  })) << h.Text();
  EXPECT_EQ(h.Sample(Opened("it-slow")), 1) << h.Text();
}

// Every counter series of a scrape, by series text.
std::map<std::string, double> CounterSamples(const std::string& text) {
  std::set<std::string> counters;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const std::string kType = "# TYPE ";
    if (line.rfind(kType, 0) == 0 && line.size() > 8 &&
        line.substr(line.size() - 8) == " counter") {
      counters.insert(
          line.substr(kType.size(), line.size() - kType.size() - 8));
    }
  }
  std::map<std::string, double> out;
  for (const auto& [series, v] : ParseSamples(text)) {
    const std::string family = series.substr(0, series.find('{'));
    if (counters.count(family) > 0) out[series] = v;
  }
  return out;
}

class ChurnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto probe = TestPostgres::Create(TestPostgres::Options{});
    ASSERT_TRUE(probe.ok()) << probe.status().message();
    auto v = (*probe)->QueryValue("SHOW server_version_num");
    ASSERT_TRUE(v.ok());
    version_ = std::stoi(*v);
    probe->reset();
    TestPostgres::Options o;
    o.max_connections = 20;
    o.extra_settings = {
        "logging_collector = on",
        "log_destination = 'stderr'",
        "log_directory = 'log'",
        "log_filename = 'postgresql.log'",
        "log_line_prefix = '%m [%p] %q%u@%d '",
        "lc_messages = 'C'",
        version_ >= 180000 ? "log_connections = 'receipt,authorization'"
                           : "log_connections = on",
    };
    auto pg = TestPostgres::Create(o);
    ASSERT_TRUE(pg.ok()) << pg.status().message();
    pg_ = std::move(*pg);
    ASSERT_TRUE(
        pg_->Exec("CREATE ROLE churn LOGIN PASSWORD 'pw' CONNECTION LIMIT 3")
            .ok());
    const std::string log = pg_->dir() + "/data/log/postgresql.log";
    ASSERT_TRUE(Eventually([&] { return access(log.c_str(), R_OK) == 0; }));
  }

  Config AgentConfig(Duration poll_interval) const {
    Config c;
    c.poll_interval = poll_interval;
    TargetConfig t = Target(*pg_);
    ServerLogConfig log;
    log.path = pg_->dir() + "/data/log/postgresql.log";
    t.server_log = log;
    c.targets = {t};
    return c;
  }

  // One scrape: checks that no counter series went down or vanished since
  // the last one, and keeps it.
  std::map<std::string, double> Scrape(const Agent& agent) {
    const auto now = CounterSamples(agent.publisher().Current()->text());
    for (const auto& [series, before] : last_) {
      auto it = now.find(series);
      if (it == now.end()) {
        ADD_FAILURE() << "counter series vanished: " << series;
        continue;
      }
      if (it->second < before) {
        ADD_FAILURE() << "counter went down: " << series << " " << before
                      << " -> " << it->second;
      }
    }
    last_ = now;
    ++scrapes_;
    return now;
  }

  int version_ = 0;
  std::unique_ptr<TestPostgres> pg_;
  std::map<std::string, double> last_;
  int scrapes_ = 0;
};

TEST_F(ChurnTest, NoCounterEverGoesDownAndTotalsEqualTheGroundTruth) {
  SystemClock clock;
  std::ostringstream log;
  Logger logger(&log, LogLevel::kInfo, LogFormat::kLogfmt, &clock);
  PgSessionFactory sessions;
  Agent agent(AgentConfig(Duration(100)), sessions, clock, logger);
  agent.Start();
  const std::string polls = "pgconn_polls_total{target=\"it\"}";
  const std::string authorized =
      "pgconn_connections_authorized_total{target=\"it\",application="
      "\"it-churn\"}";
  const std::string refused =
      "pgconn_connections_refused_total{target=\"it\",reason=\"role_limit\"}";
  ASSERT_TRUE(Eventually([&] { return Scrape(agent)[polls] >= 2; }))
      << log.str();
  const std::string url =
      "postgresql://churn:pw@127.0.0.1:" + std::to_string(pg_->port()) +
      "/postgres";
  constexpr int kRounds = 8;
  int opened = 0, refusals = 0;
  for (int round = 0; round < kRounds; ++round) {
    if (round == kRounds / 2) {
      // A reload that rebuilds the target's poller (another poll interval)
      // once the log's verdicts are in: every counter goes on.
      ASSERT_TRUE(Eventually([&] {
        return Scrape(agent)[authorized] == opened &&
               Scrape(agent)[refused] == refusals;
      })) << log.str();
      ASSERT_TRUE(agent.Reload(AgentConfig(Duration(150))).ok());
      Scrape(agent);
    }
    std::vector<std::unique_ptr<TestClient>> held;
    // Up to the role's limit, then two refused.
    for (int i = 0; i < 5; ++i) {
      auto c = TestClient::Open(url, "it-churn");
      if (c.ok()) {
        held.push_back(std::move(*c));
        ++opened;
      } else {
        EXPECT_NE(c.status().message().find("too many connections for role"),
                  std::string::npos)
            << c.status().message();
        ++refusals;
      }
      Scrape(agent);
    }
    EXPECT_EQ(held.size(), 3u);
    // Held until two polls have seen them (a session shorter than a poll
    // interval is not the opened counter's to see), scraped all along.
    const double seen_at = Scrape(agent)[polls];
    ASSERT_TRUE(Eventually([&] { return Scrape(agent)[polls] >= seen_at + 2; },
                           std::chrono::seconds(20),
                           std::chrono::milliseconds(10)));
    held.clear();
  }
  // Every verdict is in: the totals are the ground truth, exactly.
  std::map<std::string, double> s;
  const bool settled = Eventually(
      [&] {
        s = Scrape(agent);
        return s[Opened("it-churn")] == opened && s[authorized] == opened &&
               s[refused] == refusals;
      },
      std::chrono::seconds(20), std::chrono::milliseconds(10));
  EXPECT_TRUE(settled) << agent.publisher().Current()->text() << log.str();
  EXPECT_EQ(opened, 3 * kRounds);
  EXPECT_EQ(refusals, 2 * kRounds);
  // And stay so (nothing counted twice), with the sessions all gone.
  const double now = Scrape(agent)[polls];
  ASSERT_TRUE(Eventually([&] { return Scrape(agent)[polls] >= now + 5; }));
  s = Scrape(agent);
  EXPECT_EQ(s[Opened("it-churn")], opened);
  EXPECT_EQ(s[authorized], opened);
  EXPECT_EQ(s[refused], refusals);
  if (version_ >= 140000) {
    // The server's own count of sessions (pg_stat_database, mirrored and
    // kept monotonic) saw at least the churn's.
    EXPECT_GE(s["pgconn_database_sessions_total{target=\"it\",database="
                "\"postgres\"}"],
              opened);
  }
  EXPECT_GE(scrapes_, 100);
  agent.Stop();
}

}  // namespace
}  // namespace pgconn
