// The HTTP server's --web.* flags (issue 9).
#include <gtest/gtest.h>

#include "pgconn/config.h"

namespace pgconn {
namespace {

TEST(WebFlagsTest, ParsesEveryWebFlag) {
  auto f =
      ParseFlags({"--web.listen-address=127.0.0.1:9188", "--web.listen-address",
                  "[::1]:9188", "--web.config.file=/etc/pgconn/web.yml",
                  "--web.telemetry-path=/m", "--web.max-connections=64",
                  "--web.max-header-bytes=8192", "--web.max-header-count=20",
                  "--web.header-timeout=2s", "--web.idle-timeout=1m",
                  "--web.enable-lifecycle"});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->listen_addresses,
            (std::vector<std::string>{"127.0.0.1:9188", "[::1]:9188"}));
  EXPECT_EQ(f->listen_address, "[::1]:9188");
  EXPECT_EQ(f->web.config_file, "/etc/pgconn/web.yml");
  EXPECT_EQ(f->web.telemetry_path, "/m");
  EXPECT_EQ(f->web.max_connections, 64);
  EXPECT_EQ(f->web.max_header_bytes, 8192);
  EXPECT_EQ(f->web.max_header_count, 20);
  EXPECT_EQ(f->web.header_timeout, Duration(2000));
  EXPECT_EQ(f->web.idle_timeout, Duration(60000));
  EXPECT_TRUE(f->web.enable_lifecycle);
}

TEST(WebFlagsTest, DefaultsLeaveEverythingUnset) {
  auto f = ParseFlags({});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->listen_addresses.empty());
  EXPECT_FALSE(f->web.config_file.has_value());
  EXPECT_FALSE(f->web.max_connections.has_value());
  EXPECT_FALSE(f->web.enable_lifecycle);
}

TEST(WebFlagsTest, RejectsBadValuesNamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--web.max-connections=0", "flag --web.max-connections=0: "},
      {"--web.max-connections=many", "flag --web.max-connections=many: "},
      {"--web.header-timeout=0s",
       "flag --web.header-timeout=0s: must be positive"},
      {"--web.idle-timeout=soon", "flag --web.idle-timeout=soon: "},
      {"--web.telemetry-path=metrics",
       "flag --web.telemetry-path=metrics: must be a path"},
      {"--web.enable-lifecycle=yes",
       "flag --web.enable-lifecycle: takes no value"},
      {"--web.listen-address=nowhere", "flag --web.listen-address=nowhere: "},
      {"--web.no-such-thing=1", "unknown flag --web.no-such-thing"},
  };
  for (const auto& [arg, expected] : cases) {
    auto f = ParseFlags({arg});
    ASSERT_FALSE(f.ok()) << arg;
    EXPECT_NE(f.status().message().find(expected), std::string::npos)
        << arg << ": " << f.status().message();
  }
}

}  // namespace
}  // namespace pgconn
