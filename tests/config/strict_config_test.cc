// The limits of the configuration: durations, sizes, repeated keys, empty
// files and lists, switches, URL options.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "config/dsn.h"
#include "pgconn/config.h"

namespace pgconn {
namespace {

EnvLookup NoEnv() {
  return [](std::string_view) -> std::optional<std::string> {
    return std::nullopt;
  };
}

std::string TempPath() {
  char tmpl[] = "/tmp/pgconn_strict_test_XXXXXX";
  const int fd = mkstemp(tmpl);
  close(fd);
  return tmpl;
}

Status LoadFile(const std::string& content) {
  const std::string path = TempPath();
  std::ofstream(path) << content;
  Flags flags;
  flags.config_file = path;
  auto c = LoadConfig(flags, NoEnv());
  std::remove(path.c_str());
  return c.status();
}

TEST(StrictDurationTest, EveryDurationHasItsMaximum) {
  const struct {
    std::string yaml, expected;
  } cases[] = {
      {"poll_interval: 106752d\n",
       "c.yaml:1:16: \"poll_interval\": \"106752d\" is too long"},
      {"poll_interval: 2d\n",
       "c.yaml:1:16: \"poll_interval\" is longer than its maximum, 24h"},
      {"poll_interval: 25h\n", "\"poll_interval\" is longer than its maximum"},
      {"connect_timeout: 1000000000d\n", "c.yaml:1:18: \"connect_timeout\""},
      {"connect_timeout: 11m\n",
       "\"connect_timeout\" is longer than its maximum, 10m"},
      {"query_timeout: 30d\n",
       "\"query_timeout\" is longer than its maximum, 24h"},
      {"backoff_max: 2d\n", "\"backoff_max\" is longer than its maximum, 24h"},
      {"poll_interval: 9223372036854775807ms\n", "\"poll_interval\""},
      {"poll_interval: 1000000000\n",
       "\"poll_interval\" is longer than its maximum"},
  };
  for (const auto& c : cases) {
    auto r = ParseConfigYaml(c.yaml, "c.yaml");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos)
        << r.status().message();
  }
  for (std::string ok : {"poll_interval: 24h\n", "connect_timeout: 10m\n",
                         "query_timeout: 24h\n", "backoff_max: 24h\n"}) {
    EXPECT_TRUE(ParseConfigYaml(ok, "c.yaml").ok()) << ok;
  }
  // INT_MAX ms is PostgreSQL's statement_timeout limit.
  EXPECT_LT(kMaxQueryTimeout.count(), 2147483647);
  // Every maximum plus any other still fits a steady_clock deadline.
  EXPECT_LT(std::chrono::nanoseconds(kMaxPollInterval + kMaxQueryTimeout +
                                     kMaxConnectTimeout + kMaxBackoff)
                .count(),
            std::chrono::nanoseconds::max().count() / 1000);
}

TEST(StrictDurationTest, ParseDurationNeverOverflows) {
  for (std::string text :
       {"106752d", "1000000000d", "999999999h1000000000d", "1000000000s",
        "1000000000d1000000000d", "9223372036854775807ms"}) {
    auto d = ParseDuration(text);
    if (d.ok()) {
      EXPECT_GE(d->count(), 0) << text;
      EXPECT_LE(d->count(), 1'000'000'000'000LL) << text;
    }
  }
  EXPECT_FALSE(ParseDuration("106752d").ok());
  EXPECT_EQ(ParseDuration("11574d").value().count(), 11574LL * 86400000);
}

TEST(StrictFlagsTest, SwitchesTakeTrueOrFalse) {
  auto f = ParseFlags({"--once=false", "--version=false", "--help=false"});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_FALSE(f->once);
  EXPECT_FALSE(f->version);
  EXPECT_FALSE(f->help);
  f = ParseFlags({"--once=true", "--version"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->once);
  EXPECT_TRUE(f->version);
  for (std::string bad : {"--once=yes", "--help=1", "--version="}) {
    auto r = ParseFlags({bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("takes no value, or =true or =false"),
              std::string::npos)
        << r.status().message();
  }
  auto r = ParseFlags({"--poll.interval=25h"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is longer than its maximum, 24h"),
            std::string::npos);
}

TEST(StrictYamlTest, RepeatedKeysAreRefusedWithBothPositions) {
  auto r = ParseConfigYaml(
      "poll_interval: 5s\nlog_level: info\npoll_interval: 1s\n", "c.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.status().message(),
      "c.yaml:3:1: key \"poll_interval\" is repeated; first at c.yaml:1:1");
  r = ParseConfigYaml(
      "targets:\n  - name: a\n    host: x\n    password: p1\n    password: "
      "p2\n",
      "c.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "c.yaml:5:5: key \"password\" is repeated; first at c.yaml:4:5");
}

TEST(StrictYamlTest, EmptyTargetListAndOversizedInputAreRefused) {
  auto r = ParseConfigYaml("targets: []\n", "c.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("c.yaml:1:10: \"targets\" is empty"),
            std::string::npos);

  const std::string secret(kMaxScalarBytes + 1, 'S');
  r = ParseConfigYaml("targets:\n  - name: a\n    password: " + secret + "\n",
                      "c.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "c.yaml:3:15: a value of 8193 bytes; the limit is 8192");

  std::string many = "targets:\n";
  for (size_t i = 0; i <= kMaxTargets; ++i) {
    many += "  - {name: t" + std::to_string(i) + "}\n";
  }
  r = ParseConfigYaml(many, "c.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1001 targets; the limit is 1000"),
            std::string::npos)
      << r.status().message();
}

TEST(StrictYamlTest, UnknownKeysAreQuotedOnlyWhenShortAndPlain) {
  auto r = ParseConfigYaml("pol_interval: 5s\n", "c.yaml");
  EXPECT_NE(r.status().message().find("unknown key \"pol_interval\""),
            std::string::npos);
  for (std::string key : {std::string("\"hunter2 !x\""), std::string(80, 'k'),
                          std::string("\"a\\u00e9\"")}) {
    r = ParseConfigYaml(key + ": 1\n", "c.yaml");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(
                  "c.yaml:1:1: unknown key (not shown: long or not a name)"),
              std::string::npos)
        << r.status().message();
  }
}

TEST(StrictYamlTest, TargetNamesAreShortAndPlain) {
  EXPECT_TRUE(
      ParseConfigYaml("targets:\n  - name: db:5432/app@x_1.b-c\n", "c.yaml")
          .ok());
  // A quote that swallowed the next lines, password included.
  for (const std::string& name :
       std::vector<std::string>{"\"ain\n    password: 'hunter2'\"", "'a b'",
                                std::string(129, 'n'), "\"a\\tb\""}) {
    auto r = ParseConfigYaml("targets:\n  - name: " + name + "\n", "c.yaml");
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_NE(r.status().message().find(
                  "c.yaml:2:11: \"name\": a target name has 1 to 128 bytes"),
              std::string::npos)
        << r.status().message();
    EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos);
  }
}

TEST(StrictLoadTest, DirectoriesEmptyFilesAndEmptyListsAreRefused) {
  Flags flags;
  flags.config_file = "/tmp";
  auto c = LoadConfig(flags, NoEnv());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "flag --config.file=/tmp: not a regular file");
  for (std::string empty : {"", "\n", "# nothing yet\n"}) {
    const Status s = LoadFile(empty);
    ASSERT_FALSE(s.ok()) << empty;
    EXPECT_NE(s.message().find(": the file is empty"), std::string::npos);
  }
  EXPECT_NE(LoadFile("targets: []\n").message().find("\"targets\" is empty"),
            std::string::npos);
  EXPECT_TRUE(LoadFile("poll_interval: 5s\n").ok());  // environment's target

  const std::string big = TempPath();
  {
    std::ofstream out(big);
    out << "targets:\n";
    while (out.tellp() <= static_cast<std::streamoff>(kMaxConfigFileBytes)) {
      out << "  - {name: t, host: h}\n";
    }
  }
  flags.config_file = big;
  c = LoadConfig(flags, NoEnv());
  std::remove(big.c_str());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("bytes; the limit is 4194304"),
            std::string::npos)
      << c.status().message();
}

TEST(StrictLoadTest, APasswordFileThatIsADirectoryIsAnError) {
  char dir[] = "/tmp/pgconn_pwdir_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const Status s = LoadFile(std::string("targets:\n  - name: a\n    host: h\n"
                                        "    password_file: ") +
                            dir + "\n");
  rmdir(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(std::string("target \"a\": password_file ") + dir +
                             ": is a directory"),
            std::string::npos)
      << s.message();
}

TEST(StrictUrlTest, OptionsFollowTheRulesOfTheYamlFields) {
  const struct {
    std::string url, expected;
  } cases[] = {
      {"postgresql://h/db?sslmode=bogus", "sslmode is not one of disable"},
      {"postgresql://h/db?target_session_attrs=x",
       "target_session_attrs is not one of any, read-write"},
      {"postgresql://h/db?connect_timeout=abc",
       "connect_timeout is not a whole number of seconds from 0 to 600"},
      {"postgresql://h/db?connect_timeout=100000",
       "connect_timeout is not a whole number"},
      {"postgresql://h/db?gssencmode=always", "gssencmode is not one of"},
      {"postgresql://h/db?port=0", "port is not a number from 1 to 65535"},
      {"postgresql://app:12/xY9kL@127.0.0.1:1/app",
       "an '@' after the host part"},
      {"postgresql://u:p@ss@h/db", "host has an '@'"},
      {"postgresql://app@h:1/app?password=Zq7Sek%zzret",
       "invalid URL: invalid percent-encoded token"},
  };
  for (const auto& c : cases) {
    const Status s = ValidateUrl(c.url);
    ASSERT_FALSE(s.ok()) << c.url;
    EXPECT_NE(s.message().find(c.expected), std::string::npos) << s.message();
    for (std::string secret : {"bogus", "xY9kL", "Zq7Sek", "abc", "ss@h"}) {
      EXPECT_EQ(s.message().find(secret), std::string::npos) << s.message();
    }
  }
  for (std::string ok :
       {"postgresql://h/db?sslmode=verify-full&target_session_attrs=read-write",
        "postgresql://h/db?connect_timeout=10",
        "postgresql://u%40x:a%2Fb%40c@h:5432/db",
        "postgresql://h/db?user=me@server"}) {
    EXPECT_TRUE(ValidateUrl(ok).ok())
        << ok << ": " << ValidateUrl(ok).message();
  }
  EXPECT_TRUE(CheckConnectionString("host=h sslmode=require").ok());
  const Status s = CheckConnectionString("host=h sslmode=hunter2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find("hunter2"), std::string::npos);
}

TEST(StrictUrlTest, TheDefaultTargetNameNeverHoldsThePassword) {
  // An unencoded '/' in a password used to make "app:12/xY9kL@127.0.0.1:1/app"
  // the target label; now the URL is refused, naming the variable only.
  auto env = [](std::string_view n) -> std::optional<std::string> {
    if (n == "DATABASE_URL") return "postgresql://app:12/xY9kL@127.0.0.1:1/app";
    return std::nullopt;
  };
  auto t = TargetFromEnvironment(env, nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message().find("xY9kL"), std::string::npos);
  EXPECT_NE(t.status().message().find("environment variable DATABASE_URL"),
            std::string::npos);
  auto good = [](std::string_view n) -> std::optional<std::string> {
    if (n == "DATABASE_URL") return "postgresql://app:12%2FxY9kL@db:6432/app";
    return std::nullopt;
  };
  auto g = TargetFromEnvironment(good, nullptr);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->name, "db:6432/app");
}

}  // namespace
}  // namespace pgconn
