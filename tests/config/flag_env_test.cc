#include "pgconn/flag_env.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "fakes/fake_env.h"

namespace pgconn {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return FakeEnvironment(std::move(vars));
}

const std::vector<std::string>& Names() {
  static const auto* names =
      new std::vector<std::string>(EnvironmentFlagNames());
  return *names;
}

TEST(FlagEnvironmentNameTest, UpperCaseWithUnderscores) {
  EXPECT_EQ(FlagEnvironmentName("web.listen-address"),
            "PGCONN_WEB_LISTEN_ADDRESS");
  EXPECT_EQ(FlagEnvironmentName("config.file"), "PGCONN_CONFIG_FILE");
}

TEST(EnvironmentFlagNamesTest, EveryValueFlagAndNoSwitch) {
  const auto& names = Names();
  for (const char* want : {"config.file", "web.listen-address", "poll.interval",
                           "log.level", "log.format"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  for (const char* never : {"once", "help", "version", "collector.NAME"}) {
    EXPECT_EQ(std::find(names.begin(), names.end(), never), names.end())
        << never;
  }
  // Every name is one ParseFlags knows, and takes a value.
  for (const auto& n : names) {
    auto parsed = ParseFlags({"--" + n});
    ASSERT_FALSE(parsed.ok()) << n;  // a value flag without its value
    EXPECT_EQ(parsed.status().message().find("unknown flag"), std::string::npos)
        << n << ": " << parsed.status().message();
  }
}

TEST(ApplyFlagEnvironmentTest, VariablesBecomeFlags) {
  std::vector<std::string> notices;
  auto args = ApplyFlagEnvironment(
      {"--once"},
      Env({{"PGCONN_WEB_LISTEN_ADDRESS", "127.0.0.1:9999"},
           {"PGCONN_POLL_INTERVAL", "2s"},
           {"PGCONN_LOG_FORMAT", ""},  // empty: as if unset
           {"PGCONN_ONCE", "true"}}),  // a switch: never from the env
      Names(), &notices);
  ASSERT_TRUE(args.ok()) << args.status().message();
  auto flags = ParseFlags(*args);
  ASSERT_TRUE(flags.ok()) << flags.status().message();
  EXPECT_EQ(flags->listen_address, "127.0.0.1:9999");
  EXPECT_EQ(flags->poll_interval, Duration(2000));
  EXPECT_FALSE(flags->log_format.has_value());
  EXPECT_TRUE(flags->once);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0],
            "flags from the environment: "
            "PGCONN_WEB_LISTEN_ADDRESS,PGCONN_POLL_INTERVAL");
}

TEST(ApplyFlagEnvironmentTest, TheCommandLineWins) {
  std::vector<std::string> notices;
  for (const std::vector<std::string>& cli :
       {std::vector<std::string>{"--web.listen-address=:1234"},
        std::vector<std::string>{"--web.listen-address", ":1234"}}) {
    notices.clear();
    auto args = ApplyFlagEnvironment(
        cli, Env({{"PGCONN_WEB_LISTEN_ADDRESS", ":9999"}}), Names(), &notices);
    ASSERT_TRUE(args.ok());
    auto flags = ParseFlags(*args);
    ASSERT_TRUE(flags.ok()) << flags.status().message();
    EXPECT_EQ(flags->listen_address, ":1234");
    ASSERT_EQ(notices.size(), 1u);
    EXPECT_EQ(notices[0],
              "the command line overrides these: PGCONN_WEB_LISTEN_ADDRESS");
  }
}

TEST(ApplyFlagEnvironmentTest, ErrorsNameTheVariableNotTheValue) {
  auto args = ApplyFlagEnvironment(
      {}, Env({{"PGCONN_POLL_INTERVAL", "hunter2"}}), Names(), nullptr);
  ASSERT_FALSE(args.ok());
  EXPECT_NE(args.status().message().find(
                "environment variable PGCONN_POLL_INTERVAL (as "
                "--poll.interval)"),
            std::string::npos)
      << args.status().message();
  EXPECT_EQ(args.status().message().find("hunter2"), std::string::npos)
      << args.status().message();
}

}  // namespace
}  // namespace pgconn
