#include <gtest/gtest.h>

#include "pgconn/config.h"

namespace pgconn {
namespace {

TEST(ServerLogConfigTest, ParsesServerLogAndPeakWindow) {
  auto c = ParseConfigYaml(
      "peak_window: 90s\n"
      "targets:\n"
      "  - name: a\n"
      "    server_log:\n"
      "      path: /var/log/postgresql/postgresql-15-main.log\n"
      "  - name: b\n"
      "    peak_window: 2m\n"
      "    server_log:\n"
      "      path: /srv/pg/log/postgresql.csv\n"
      "      format: csvlog\n"
      "  - name: c\n"
      "    server_log:\n"
      "      path: /srv/pg/log/postgresql.log\n"
      "      log_line_prefix: '%t [%p]: user=%u,db=%d '\n",
      "pgconn.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->peak_window, Duration(90000));
  ASSERT_EQ(c->targets.size(), 3u);
  const auto& a = c->targets[0];
  ASSERT_TRUE(a.server_log);
  EXPECT_EQ(a.server_log->format, ServerLogFormat::kStderr);
  EXPECT_EQ(a.server_log->log_line_prefix, "%m [%p] %q%u@%d ");
  EXPECT_FALSE(a.peak_window);
  EXPECT_EQ(c->targets[1].server_log->format, ServerLogFormat::kCsvlog);
  EXPECT_EQ(c->targets[1].peak_window, Duration(120000));
  EXPECT_EQ(c->targets[2].server_log->log_line_prefix,
            "%t [%p]: user=%u,db=%d ");
  EXPECT_EQ(Config{}.peak_window, Duration(60000));
}

TEST(ServerLogConfigTest, RejectsBadServerLog) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"server_log: {format: csvlog}", "needs a \"path\""},
      {"server_log: {path: /x, format: syslog}", "is not one of stderr"},
      {"server_log: {path: /x, rotate: daily}", "unknown key \"rotate\""},
      {"server_log: /x", "must be a mapping"},
      {"peak_window: 0s", "must be positive"},
  };
  for (const auto& [yaml, want] : cases) {
    auto c = ParseConfigYaml("targets:\n  - name: a\n    " + yaml + "\n",
                             "pgconn.yml");
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(c.status().message().find(want), std::string::npos)
        << c.status().message();
    EXPECT_NE(c.status().message().find("pgconn.yml:3:"), std::string::npos)
        << c.status().message();
  }
}

}  // namespace
}  // namespace pgconn
