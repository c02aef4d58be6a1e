#include "serverlog/follower.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "expose/exposition_part.h"

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

TEST_F(FollowerTest, AuthorizedApplicationsAreCapped) {
  Append("");
  ServerLogFollower f(Config(ServerLogFormat::kJsonlog), 2, logger_);
  f.ReadAvailable();
  for (std::string app : {"web", "", "worker", "bot", "web", "a\\u0000b"}) {
    Append(R"({"error_severity":"LOG","message":"connection authorized: )"
           R"(user=u database=d)" +
           (app.empty() ? std::string() : " application_name=" + app) +
           "\"}\n");
  }
  f.ReadAvailable();
  const ServerLogCounts c = f.Counts();
  ASSERT_EQ(c.authorized.size(), 3u);
  EXPECT_EQ(c.authorized.at("web"), 2u);
  EXPECT_EQ(c.authorized.at("(unset)"), 1u);
  EXPECT_EQ(c.authorized.at("(other)"), 3u);
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
  for (const auto& fam : SerializePart(w.Take()).families) {
    text += fam.header + fam.samples;
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
