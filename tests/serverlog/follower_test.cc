#include "serverlog/follower.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "expose/exposition_part.h"
#include "fakes/fake_clock.h"

namespace pgconn {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kRefused =
    "2026-12-01 16:39:44.123 UTC [77] app@shop FATAL:  remaining connection "
    "slots are reserved for non-replication superuser connections\n";
constexpr std::string_view kTooMany =
    "2026-12-01 16:39:44.123 UTC [78] app@shop FATAL:  sorry, too many "
    "clients already\n";

size_t Reason(std::string_view r) {
  for (size_t i = 0; i < kRefusalReasons.size(); ++i) {
    if (kRefusalReasons[i] == r) return i;
  }
  return 0;
}

class FollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pgconn-follower-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "postgresql.log").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Append(std::string_view text, const std::string& path = "") {
    std::ofstream out(path.empty() ? path_ : path, std::ios::app);
    out << text;
  }

  ServerLogConfig Config(ServerLogFormat f = ServerLogFormat::kStderr) {
    ServerLogConfig c;
    c.path = path_;
    c.format = f;
    return c;
  }

  fs::path dir_;
  std::string path_;
  std::ostringstream log_;
  SystemClock clock_;
  Logger logger_{&log_, LogLevel::kDebug, LogFormat::kLogfmt, &clock_};
};

TEST_F(FollowerTest, StartsAtTheEndAndCountsWhatFollows) {
  Append(kRefused);  // before the agent: not counted
  ServerLogFollower f(Config(), 50, logger_);
  f.ReadAvailable();
  EXPECT_TRUE(f.Counts().up);
  EXPECT_EQ(f.Counts().refused[Reason("reserved_slots")], 0u);
  Append(kRefused);
  Append(kTooMany);
  Append(std::string(kRefused).substr(0, 40));  // a partial line
  f.ReadAvailable();
  ServerLogCounts c = f.Counts();
  EXPECT_EQ(c.refused[Reason("reserved_slots")], 1u);
  EXPECT_EQ(c.refused[Reason("max_connections")], 1u);
  EXPECT_EQ(c.entries, 2u);
  Append(std::string(kRefused).substr(40));  // its end
  f.ReadAvailable();
  EXPECT_EQ(f.Counts().refused[Reason("reserved_slots")], 2u);
}

TEST_F(FollowerTest, FollowsRenameAndNewFile) {
  Append("");
  ServerLogFollower f(Config(), 50, logger_);
  f.ReadAvailable();
  Append(kRefused);
  fs::rename(path_, path_ + ".1");
  Append(kRefused, path_ + ".1");  // written to the old file after rename
  f.ReadAvailable();               // path missing: keeps the old file
  EXPECT_TRUE(f.Counts().up);
  EXPECT_EQ(f.Counts().refused[Reason("reserved_slots")], 2u);
  Append(kRefused, path_ + ".1");
  Append(kTooMany);  // the new file, read from its start
  f.ReadAvailable();
  ServerLogCounts c = f.Counts();
  EXPECT_EQ(c.refused[Reason("reserved_slots")], 3u);
  EXPECT_EQ(c.refused[Reason("max_connections")], 1u);
  Append(kTooMany);
  f.ReadAvailable();
  EXPECT_EQ(f.Counts().refused[Reason("max_connections")], 2u);
}

TEST_F(FollowerTest, FollowsTruncation) {
  Append(std::string(4096, 'x') + "\n");
  ServerLogFollower f(Config(), 50, logger_);
  f.ReadAvailable();
  { std::ofstream truncate(path_, std::ios::trunc); }
  Append(kTooMany);
  f.ReadAvailable();
  EXPECT_EQ(f.Counts().refused[Reason("max_connections")], 1u);
}

TEST_F(FollowerTest, MissingFileIsACountedErrorUntilItAppears) {
  ServerLogFollower f(Config(), 50, logger_);
  f.ReadAvailable();
  f.ReadAvailable();
  EXPECT_FALSE(f.Counts().up);
  EXPECT_EQ(f.Counts().errors, 1u);  // once per outage, not per attempt
  EXPECT_NE(log_.str().find("server log unreadable"), std::string::npos);
  Append(kTooMany);  // created after the start: read from its start
  f.ReadAvailable();
  EXPECT_TRUE(f.Counts().up);
  EXPECT_EQ(f.Counts().refused[Reason("max_connections")], 1u);
}

TEST_F(FollowerTest, UnreadablePathIsAnErrorNotACrash) {
  path_ = dir_.string();  // a directory: open works, read fails
  ServerLogFollower f(Config(), 50, logger_);
  f.ReadAvailable();
  EXPECT_FALSE(f.Counts().up);
  EXPECT_EQ(f.Counts().errors, 1u);
}

TEST_F(FollowerTest, AuthorizedApplicationsAreCappedWithoutGoingDown) {
  Append("");
  FakeClock clock;
  ServerLogFollower f(Config(ServerLogFormat::kJsonlog), 2, logger_, &clock);
  f.ReadAvailable();
  int pid = 100;
  for (std::string app : {"web", "", "worker", "bot", "web", "a\\u0000b"}) {
    Append(R"({"error_severity":"LOG","pid":)" + std::to_string(++pid) +
           R"(,"message":"connection authorized: user=u database=d)" +
           (app.empty() ? std::string() : " application_name=" + app) +
           "\"}\n");
  }
  f.ReadAvailable();
  // Not yet: each waits for a FATAL of its process.
  EXPECT_TRUE(f.Counts().authorized.empty());
  EXPECT_EQ(f.Counts().authorizations_pending, 6u);
  clock.Advance(kAuthorizationVerdictDelay);
  f.ReadAvailable();
  const ServerLogCounts c = f.Counts();
  EXPECT_EQ(c.authorizations_pending, 0u);
  // Two places: each new name takes the place of the one seen least
  // recently, whose count moves into (other); nothing is lost.
  ASSERT_EQ(c.authorized.size(), 3u);
  EXPECT_EQ(c.authorized.at("web"), 1u);
  EXPECT_EQ(c.authorized.at("(other)"), 4u);
  uint64_t total = 0;
  for (const auto& [app, n] : c.authorized) total += n;
  EXPECT_EQ(total, 6u);
}

// PostgreSQL writes "connection authorized" before it checks the reserved
// slots and the limits; a login refused then is not a session that got
// in. Lines as PostgreSQL 18 wrote them, in each format.
TEST_F(FollowerTest, AnAuthorizedLoginRefusedAfterwardsIsNotCounted) {
  const std::vector<std::pair<ServerLogFormat, std::string>> logs = {
      {ServerLogFormat::kStderr,
       "2026-12-07 14:24:58.346 UTC [14145] w@postgres LOG:  connection "
       "authorized: user=w database=postgres application_name=filler\n"
       "2026-12-07 14:24:58.346 UTC [14146] w@postgres LOG:  connection "
       "authorized: user=w database=postgres application_name=filler\n"
       "2026-12-07 14:24:58.347 UTC [14145] w@postgres FATAL:  remaining "
       "connection slots are reserved for roles with privileges of the "
       "\"pg_use_reserved_connections\" role\n"},
      {ServerLogFormat::kCsvlog,
       "2026-12-07 14:24:58.346 UTC,\"w\",\"postgres\",14145,\"127.0.0.1:"
       "48326\",6b16c1ba.3741,2,\"authentication\",2026-12-07 14:24:58 UTC,"
       "7/1,0,LOG,00000,\"connection authorized: user=w database=postgres "
       "application_name=filler\",,,,,,,,,\"\",\"client backend\",,0\n"
       "2026-12-07 14:24:58.346 UTC,\"w\",\"postgres\",14146,\"127.0.0.1:"
       "48327\",6b16c1ba.3742,2,\"authentication\",2026-12-07 14:24:58 UTC,"
       "7/1,0,LOG,00000,\"connection authorized: user=w database=postgres "
       "application_name=filler\",,,,,,,,,\"\",\"client backend\",,0\n"
       "2026-12-07 14:24:58.347 UTC,\"w\",\"postgres\",14145,\"127.0.0.1:"
       "48326\",6b16c1ba.3741,3,\"startup\",2026-12-07 14:24:58 UTC,7/1,0,"
       "FATAL,53300,\"remaining connection slots are reserved for roles with "
       "privileges of the \"\"pg_use_reserved_connections\"\" role\",,,,,,,"
       ",,\"\",\"client backend\",,0\n"},
      {ServerLogFormat::kJsonlog,
       R"({"user":"w","dbname":"postgres","pid":14145,"error_severity":"LOG","message":"connection authorized: user=w database=postgres application_name=filler"})"
       "\n"
       R"({"user":"w","dbname":"postgres","pid":14146,"error_severity":"LOG","message":"connection authorized: user=w database=postgres application_name=filler"})"
       "\n"
       R"({"user":"w","dbname":"postgres","pid":14145,"error_severity":"FATAL","state_code":"53300","message":"remaining connection slots are reserved for roles with privileges of the \"pg_use_reserved_connections\" role"})"
       "\n"},
  };
  for (const auto& [format, text] : logs) {
    std::filesystem::remove(path_);
    Append("");
    FakeClock clock;
    ServerLogFollower f(Config(format), 50, logger_, &clock);
    f.ReadAvailable();
    Append(text);
    f.ReadAvailable();
    EXPECT_EQ(f.Counts().refused[Reason("reserved_slots")], 1u);
    EXPECT_EQ(f.Counts().authorizations_pending, 1u);  // 14146
    clock.Advance(kAuthorizationVerdictDelay);
    f.ReadAvailable();
    const ServerLogCounts c = f.Counts();
    EXPECT_EQ(c.authorized, (std::map<std::string, uint64_t>{{"filler", 1}}))
        << static_cast<int>(format);
    EXPECT_EQ(c.authorizations_pending, 0u);
  }
}

TEST_F(FollowerTest, AnotherLineOfTheSameProcessSettlesAtOnce) {
  Append("");
  FakeClock clock;
  ServerLogFollower f(Config(), 50, logger_, &clock);
  f.ReadAvailable();
  Append(
      "2026-12-01 16:39:44.100 UTC [77] app@shop LOG:  connection authorized: "
      "user=app database=shop application_name=web\n"
      "2026-12-01 16:39:44.200 UTC [77] app@shop LOG:  duration: 1.0 ms\n");
  f.ReadAvailable();
  EXPECT_EQ(f.Counts().authorized.at("web"), 1u);
  EXPECT_EQ(f.Counts().authorizations_pending, 0u);
}

// Without %p the refusal cannot name its process: it takes the newest
// pending login of its user and database, so the total stays exact.
TEST_F(FollowerTest, WithoutAPidTheRefusalTakesTheNewestLoginOfItsUser) {
  ServerLogConfig config = Config();
  config.log_line_prefix = "%m %q%u@%d ";
  Append("");
  FakeClock clock;
  ServerLogFollower f(config, 50, logger_, &clock);
  f.ReadAvailable();
  Append(
      "2026-12-01 16:39:44.100 UTC app@shop LOG:  connection authorized: "
      "user=app database=shop application_name=web\n"
      "2026-12-01 16:39:44.100 UTC bot@shop LOG:  connection authorized: "
      "user=bot database=shop application_name=bot\n"
      "2026-12-01 16:39:44.101 UTC app@shop FATAL:  too many connections "
      "for role \"app\"\n");
  f.ReadAvailable();
  clock.Advance(kAuthorizationVerdictDelay);
  f.ReadAvailable();
  EXPECT_EQ(f.Counts().authorized,
            (std::map<std::string, uint64_t>{{"bot", 1}}));
  EXPECT_EQ(f.Counts().refused[Reason("role_limit")], 1u);
}

TEST_F(FollowerTest, PendingLoginsAreBounded) {
  Append("");
  FakeClock clock;
  ServerLogFollower f(Config(), 50, logger_, &clock);
  f.ReadAvailable();
  std::string lines;
  for (size_t i = 0; i < kMaxPendingAuthorizations + 10; ++i) {
    lines += "2026-12-01 16:39:44.100 UTC [" + std::to_string(1000 + i) +
             "] app@shop LOG:  connection authorized: user=app database=shop "
             "application_name=web\n";
  }
  Append(lines);
  f.ReadAvailable();
  EXPECT_EQ(f.Counts().authorizations_pending, kMaxPendingAuthorizations);
  EXPECT_EQ(f.Counts().authorized.at("web"), 10u);  // the oldest, at once
}

TEST_F(FollowerTest, CountsContinueFromThoseOfTheFollowerItReplaces) {
  ServerLogCounts before;
  before.errors = 2;
  before.entries = 40;
  before.refused[Reason("reserved_slots")] = 7;
  before.authorized = {{"web", 5}, {"(other)", 3}};
  Append("");
  ServerLogFollower f(Config(), 50, logger_, nullptr, before);
  f.ReadAvailable();
  Append(kRefused);
  f.ReadAvailable();
  const ServerLogCounts c = f.Counts();
  EXPECT_EQ(c.errors, 2u);
  EXPECT_EQ(c.entries, 41u);
  EXPECT_EQ(c.refused[Reason("reserved_slots")], 8u);
  EXPECT_EQ(c.authorized, before.authorized);
}

TEST_F(FollowerTest, CsvlogAcrossReads) {
  Append("");
  ServerLogFollower f(Config(ServerLogFormat::kCsvlog), 50, logger_);
  f.ReadAvailable();
  const std::string rec =
      "2026-12-01 16:39:44.123 UTC,\"app\",\"shop\",4242,\"[local]\","
      "6756c2a0.1092,1,\"idle in transaction\",2026-12-01 16:39:44 UTC,3/1,0,"
      "FATAL,25P03,\"terminating connection due to idle-in-transaction "
      "timeout\",,,,,,\"select 1,\n2\",,,\"web\",\"client backend\",,0\n";
  Append(rec.substr(0, 100));
  f.ReadAvailable();
  Append(rec.substr(100));
  f.ReadAvailable();
  EXPECT_EQ(f.Counts().terminated[0], 1u);
  EXPECT_EQ(f.Counts().entries, 1u);
}

TEST_F(FollowerTest, BadPrefixNeverReads) {
  ServerLogConfig c = Config();
  c.log_line_prefix = "%Z";
  ServerLogFollower f(c, 50, logger_);
  EXPECT_FALSE(f.status().ok());
  f.ReadAvailable();
  EXPECT_FALSE(f.Counts().up);
}

TEST_F(FollowerTest, ThreadReadsUntilStopped) {
  Append("");
  ServerLogFollower f(Config(), 50, logger_);
  f.ReadAvailable();
  f.Start(std::chrono::milliseconds(10),
          [](std::string_view thread, std::string_view what) {
            ADD_FAILURE() << thread << ": " << what;
          });
  Append(kTooMany);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (f.Counts().refused[Reason("max_connections")] == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  f.Stop();
  EXPECT_EQ(f.Counts().refused[Reason("max_connections")], 1u);
}

TEST(ServerLogMetricsTest, EveryReasonFromZero) {
  ServerLogCounts c;
  c.up = true;
  c.refused[1] = 3;
  MetricsWriter w;
  EmitServerLogMetrics(c, {{"target", "db"}}, &w);
  std::string text;
  const ExpositionPart part = w.TakePart();
  for (const auto& fam : part.families) {
    text += fam.header();
    text += part.samples(fam);
  }
  EXPECT_NE(text.find("pgconn_server_log_up{target=\"db\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("pgconn_connections_refused_total{target=\"db\","
                      "reason=\"reserved_slots\"} 3"),
            std::string::npos);
  EXPECT_NE(text.find("pgconn_connections_refused_total{target=\"db\","
                      "reason=\"shutting_down\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("pgconn_sessions_terminated_total{target=\"db\","
                      "reason=\"administrator\"} 0"),
            std::string::npos);
}

}  // namespace
}  // namespace pgconn
