#include "pgconn/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

namespace pgconn {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](
             std::string_view n) -> std::optional<std::string> {
    auto it = vars.find(std::string(n));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// A file that is deleted at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/pgconn_config_test_XXXXXX";
    const int fd = mkstemp(tmpl);
    path_ = tmpl;
    std::ofstream(path_) << content;
    close(fd);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ParseDurationTest, AcceptsPrometheusDurations) {
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"5s", 5000},    {"250ms", 250},   {"1m30s", 90000},
      {"2h", 7200000}, {"1d", 86400000}, {"5", 5000},
      {"0.5", 500},    {" 10s ", 10000}, {"0s", 0},
  };
  for (const auto& [text, ms] : cases) {
    auto d = ParseDuration(text);
    ASSERT_TRUE(d.ok()) << text << ": " << d.status().message();
    EXPECT_EQ(d->count(), ms) << text;
  }
}

TEST(ParseDurationTest, RejectsGarbage) {
  for (std::string text : {"", "abc", "5x", "-1s", "s", "5 s", "1.5s", "-3",
                           "+5", "0x10", "inf", "nan", "1e999"}) {
    auto d = ParseDuration(text);
    EXPECT_FALSE(d.ok()) << "accepted \"" << text << "\"";
  }
}

TEST(ParseDurationTest, RefusesTooLongDurationsWithoutEchoingThem) {
  std::string many;
  for (int i = 0; i < 200; ++i) many += "999999999d";  // overflows int64 ms
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1000000001s", "\"1000000001s\" is too long"},
      {"99999999999999999999999s", "\"99999999999999999999999s\" is too long"},
      {"2e9", "\"2e9\" is not a valid duration"},
      {many, "\"" + many.substr(0, 40) + "...\" is too long"},
  };
  for (const auto& [text, message] : cases) {
    auto d = ParseDuration(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().message(), message);
  }
  // About 31 years: the most any duration may be before its own limit.
  auto longest = ParseDuration("11574d");
  ASSERT_TRUE(longest.ok());
  EXPECT_EQ(longest->count(), 11574LL * 86400000);
  EXPECT_EQ(ParseDuration("11575d").status().message(),
            "\"11575d\" is too long");
}

TEST(ConfigYamlTest, ParsesAFullConfiguration) {
  const std::string yaml = R"(
poll_interval: 2s
connect_timeout: 3s
query_timeout: 1500ms
backoff_max: 1m
near_limit_threshold: 0.75
max_applications: 20
max_users: 30
max_databases: 40
listen_address: "127.0.0.1:9999"
log_level: debug
log_format: json
targets:
  - name: main
    host: db.internal
    port: 5433
    user: monitor
    password_file: /run/secrets/pw
    dbname: app
    sslmode: require
    overhead: 15
    pools:
      - application: worker
        replicas: 10
        pool_min: 2
        pool_max: 5
  - name: replica
    url: postgresql://monitor@replica:5432/app
  - name: bouncer
    type: pgbouncer
    host: 127.0.0.1
    port: 6432
)";
  auto c = ParseConfigYaml(yaml, "pgconn.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->poll_interval.count(), 2000);
  EXPECT_EQ(c->connect_timeout.count(), 3000);
  EXPECT_EQ(c->query_timeout.count(), 1500);
  EXPECT_EQ(c->backoff_max.count(), 60000);
  EXPECT_DOUBLE_EQ(c->near_limit_threshold, 0.75);
  EXPECT_EQ(c->max_applications, 20);
  EXPECT_EQ(c->max_users, 30);
  EXPECT_EQ(c->max_databases, 40);
  EXPECT_EQ(c->listen_address, "127.0.0.1:9999");
  EXPECT_EQ(c->log_level, LogLevel::kDebug);
  EXPECT_EQ(c->log_format, LogFormat::kJson);
  ASSERT_EQ(c->targets.size(), 3u);
  const TargetConfig& m = c->targets[0];
  EXPECT_EQ(m.name, "main");
  EXPECT_EQ(m.kind, TargetKind::kPostgres);
  EXPECT_EQ(m.host, "db.internal");
  EXPECT_EQ(m.port, "5433");
  EXPECT_EQ(m.user, "monitor");
  EXPECT_EQ(m.password_file, "/run/secrets/pw");
  EXPECT_EQ(m.dbname, "app");
  EXPECT_EQ(m.sslmode, "require");
  EXPECT_EQ(m.overhead, 15);
  EXPECT_EQ(m.origin, "pgconn.yaml:14:5");
  ASSERT_EQ(m.pools.size(), 1u);
  EXPECT_EQ(m.pools[0].application, "worker");
  EXPECT_EQ(m.pools[0].replicas, 10);
  EXPECT_EQ(m.pools[0].pool_min, 2);
  EXPECT_EQ(m.pools[0].pool_max, 5);
  EXPECT_EQ(c->targets[1].url.Reveal(),
            "postgresql://monitor@replica:5432/app");
  EXPECT_EQ(c->targets[2].kind, TargetKind::kPgBouncer);
}

TEST(ConfigYamlTest, EmptyFileIsAnEmptyConfig) {
  auto c = ParseConfigYaml("", "empty.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->targets.empty());
  EXPECT_EQ(c->poll_interval.count(), 5000);
  EXPECT_DOUBLE_EQ(c->near_limit_threshold, 0.8);
  EXPECT_EQ(c->max_applications, 50);
}

struct BadYamlCase {
  std::string yaml;
  std::string expected;  // substring of the message
};

TEST(ConfigYamlTest, RejectsBadInputNamingFileLineAndColumn) {
  const std::vector<BadYamlCase> cases = {
      {"pol_interval: 5s\n", "c.yaml:1:1: unknown key \"pol_interval\""},
      {"poll_interval: [1, 2]\n",
       "c.yaml:1:16: \"poll_interval\" must be a duration"},
      {"poll_interval: -5s\n", "c.yaml:1:16: \"poll_interval\""},
      {"poll_interval: 0s\n",
       "c.yaml:1:16: \"poll_interval\": 0s must be positive"},
      {"poll_interval: soon\n",
       "c.yaml:1:16: \"poll_interval\": \"soon\" is not a duration"},
      {"near_limit_threshold: 0\n",
       "c.yaml:1:23: \"near_limit_threshold\": 0 is outside (0, 1]"},
      {"near_limit_threshold: 1.5\n",
       "\"near_limit_threshold\": 1.5 is outside (0, 1]"},
      {"near_limit_threshold: -0.1\n", "is outside (0, 1]"},
      {"near_limit_threshold: high\n",
       "\"near_limit_threshold\" must be a number"},
      {"max_applications: abc\n",
       "c.yaml:1:19: \"max_applications\": \"abc\" is not a whole number"},
      {"max_applications: 0\n",
       "\"max_applications\": 0 is outside [1, 10000]"},
      {"log_level: loud\n", "c.yaml:1:12: log level \"loud\" is not one of"},
      {"log_format: xml\n", "log format \"xml\" is not one of logfmt, json"},
      {"listen_address: nowhere\n", "c.yaml:1:17: \"listen_address\""},
      {"targets: {}\n", "c.yaml:1:10: \"targets\" must be a list"},
      {"targets:\n  - host: x\n", "c.yaml:2:5: a target needs a \"name\""},
      {"targets:\n  - name: a\n    hots: x\n",
       "c.yaml:3:5: unknown key \"hots\" in a target"},
      {"targets:\n  - name: a\n    port: abc\n",
       "c.yaml:3:11: \"port\": \"abc\" is not a whole number"},
      {"targets:\n  - name: a\n    port: 70000\n",
       "\"port\": 70000 is outside [1, 65535]"},
      {"targets:\n  - name: a\n    type: mysql\n",
       "c.yaml:3:11: \"type\": \"mysql\" is not one of postgres, pgbouncer"},
      {"targets:\n  - name: a\n    sslmode: maybe\n",
       "\"sslmode\": \"maybe\" is not one of"},
      {"targets:\n  - name: a\n  - name: a\n",
       "target name \"a\" is used twice"},
      {"targets:\n  - name: a\n    host: [x]\n",
       "c.yaml:3:11: \"host\" must be a string"},
      {"targets:\n  - name: a\n    url: postgresql://h/db\n    host: h\n",
       "sets both \"url\" and host/port/user/dbname"},
      {"targets:\n  - name: a\n    pools:\n      - application: w\n        "
       "pool_min: 5\n        pool_max: 2\n",
       "c.yaml:5:19: pool \"w\": pool_min 5 is larger than pool_max 2"},
      {"targets:\n  - name: a\n    pools:\n      - application: w\n",
       "pool \"w\" needs \"pool_max\""},
      {"targets:\n  - name: a\n    pools:\n      - pool_max: 3\n",
       "a pool needs \"application\""},
      {"targets:\n  - name: a\n    pools:\n      - application: w\n        "
       "pool_max: 3\n        replica: 2\n",
       "c.yaml:6:9: unknown key \"replica\" in a pool"},
      {"targets:\n  - name: a\n    overhead: -1\n",
       "\"overhead\": -1 is outside"},
      {"targets:\n  - name: a\n    pools:\n      - application: w\n        "
       "pool_max: 3\n      - application: w\n        pool_max: 4\n",
       "c.yaml:6:9: application \"w\" is already declared at c.yaml:4:9"},
      {"targets:\n  - name: a\n    pools:\n      - application: " +
           std::string(64, 'x') + "\n        pool_max: 3\n",
       "c.yaml:4:22: \"application\" must have 1 to 63 bytes"},
      {"targets:\n  - name: a\n    pools:\n      - application: \"\"\n"
       "        pool_max: 3\n",
       "\"application\" must have 1 to 63 bytes"},
      {"targets: [\n", "c.yaml:2:1: invalid YAML"},
      {"- just\n- a list\n", "c.yaml:1:1: the configuration must be a mapping"},
  };
  for (const auto& c : cases) {
    auto r = ParseConfigYaml(c.yaml, "c.yaml");
    ASSERT_FALSE(r.ok()) << "accepted:\n" << c.yaml;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos)
        << "message: " << r.status().message() << "\nexpected: " << c.expected;
  }
}

TEST(ConfigYamlTest, NeverPrintsAPassword) {
  const std::vector<std::string> cases = {
      "targets:\n  - name: a\n    url: \"mysql://u:hunter2@h/db\"\n",
      "targets:\n  - name: a\n    url: "
      "\"postgresql://u:hunter2@h:notaport/db\"\n",
      "targets:\n  - name: a\n    password: hunter2\n    password_file: /x\n",
      "targets:\n  - name: a\n    password: [hunter2]\n",
  };
  for (const auto& yaml : cases) {
    auto r = ParseConfigYaml(yaml, "c.yaml");
    ASSERT_FALSE(r.ok()) << yaml;
    EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos)
        << r.status().message();
  }
}

TEST(EnvironmentTest, BuildsTargetFromDbVariables) {
  std::vector<std::string> notices;
  auto t = TargetFromEnvironment(FakeEnv({{"DB_HOST", "localhost"},
                                          {"DB_PORT", "5432"},
                                          {"DB_USER", "postgres"},
                                          {"DB_PASSWORD", "postgres"},
                                          {"DB_NAME", "app"}}),
                                 &notices);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->host, "localhost");
  EXPECT_EQ(t->port, "5432");
  EXPECT_EQ(t->user, "postgres");
  EXPECT_EQ(t->password.Reveal(), "postgres");
  EXPECT_EQ(t->dbname, "app");
  EXPECT_EQ(t->name, "localhost:5432/app");
  EXPECT_EQ(t->origin, "environment");
  EXPECT_TRUE(notices.empty());
}

TEST(EnvironmentTest, DatabaseUrlWinsAndIgnoredVariablesAreNamed) {
  std::vector<std::string> notices;
  auto t = TargetFromEnvironment(
      FakeEnv(
          {{"DATABASE_URL", "postgresql://app:s3cret@db.example:6543/orders"},
           {"DB_HOST", "other"},
           {"DB_PASSWORD", "pw"}}),
      &notices);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->url.Reveal(), "postgresql://app:s3cret@db.example:6543/orders");
  EXPECT_TRUE(t->host.empty());
  EXPECT_EQ(t->name, "db.example:6543/orders");
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0],
            "DATABASE_URL is set, so these are ignored: DB_HOST,DB_PASSWORD");
}

TEST(EnvironmentTest, RejectsBadPortNamingTheVariable) {
  for (std::string bad : {"abc", "0", "65536", "54 32", ""}) {
    auto t = TargetFromEnvironment(FakeEnv({{"DB_PORT", bad}}), nullptr);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.status().message().find("environment variable DB_PORT=" + bad),
              std::string::npos)
        << t.status().message();
  }
}

TEST(EnvironmentTest, PortMayBePaddedButNotHuge) {
  auto padded =
      TargetFromEnvironment(FakeEnv({{"DB_PORT", " 6432 "}}), nullptr);
  ASSERT_TRUE(padded.ok()) << padded.status().message();
  EXPECT_EQ(padded->port, "6432");
  auto huge = TargetFromEnvironment(
      FakeEnv({{"DB_PORT", std::string(10000, '7')}}), nullptr);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().message(),
            "environment variable DB_PORT=" + std::string(40, '7') +
                "...: not a port number (" + std::string(40, '7') +
                "... is outside [1, 65535])");
}

TEST(EnvironmentTest, RejectsBadDatabaseUrlWithoutPrintingIt) {
  for (std::string bad : {"mysql://u:hunter2@h/db",
                          "postgresql://u:hunter2@h:port/db", "hunter2"}) {
    auto t = TargetFromEnvironment(FakeEnv({{"DATABASE_URL", bad}}), nullptr);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.status().message().find("DATABASE_URL"), std::string::npos);
    EXPECT_EQ(t.status().message().find("hunter2"), std::string::npos)
        << t.status().message();
  }
}

TEST(EnvironmentTest, FallsBackToLibpqDefaults) {
  auto t = TargetFromEnvironment(FakeEnv({}), nullptr);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->name, "default");
  EXPECT_TRUE(t->host.empty());
  EXPECT_TRUE(t->url.empty());
  auto pg = TargetFromEnvironment(FakeEnv({{"PGHOST", "h"}, {"PGPORT", "5"}}),
                                  nullptr);
  ASSERT_TRUE(pg.ok());
  EXPECT_EQ(pg->name, "h:5");
  auto named =
      TargetFromEnvironment(FakeEnv({{"PGCONN_TARGET_NAME", "prod"}}), nullptr);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->name, "prod");
}

TEST(FlagsTest, ParsesBothForms) {
  auto f = ParseFlags({"--config.file=/etc/pgconn.yaml", "--web.listen-address",
                       "127.0.0.1:9000", "--poll.interval=1s", "--log.level",
                       "debug", "--log.format=json", "--once"});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(*f->config_file, "/etc/pgconn.yaml");
  EXPECT_EQ(*f->listen_address, "127.0.0.1:9000");
  EXPECT_EQ(f->poll_interval->count(), 1000);
  EXPECT_EQ(*f->log_level, LogLevel::kDebug);
  EXPECT_EQ(*f->log_format, LogFormat::kJson);
  EXPECT_TRUE(f->once);
  EXPECT_FALSE(f->help);
}

TEST(FlagsTest, RejectsBadFlags) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--nope"}, "unknown flag --nope"},
      {{"--poll.interval=0s"}, "flag --poll.interval=0s: must be positive"},
      {{"--poll.interval=-5s"}, "flag --poll.interval=-5s"},
      {{"--poll.interval=fast"}, "flag --poll.interval=fast"},
      {{"--poll.interval"}, "flag --poll.interval needs a value"},
      {{"--web.listen-address=9188"}, "flag --web.listen-address=9188"},
      {{"--web.listen-address=:99999"}, "flag --web.listen-address=:99999"},
      {{"--log.level=verbose"}, "flag --log.level"},
      {{"--log.format=xml"}, "flag --log.format"},
      {{"stray"}, "unexpected argument \"stray\""},
  };
  for (const auto& [args, expected] : cases) {
    auto f = ParseFlags(args);
    ASSERT_FALSE(f.ok()) << args[0];
    EXPECT_NE(f.status().message().find(expected), std::string::npos)
        << f.status().message();
  }
}

TEST(FlagsTest, HelpMentionsEveryFlag) {
  const std::string help = FlagsHelp("pgconn-agent");
  for (auto flag : {"--config.file", "--web.listen-address", "--poll.interval",
                    "--log.level", "--log.format", "--once", "--version",
                    "--help", "DATABASE_URL"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

TEST(ListenAddressTest, ParsesForms) {
  const std::vector<std::tuple<std::string, std::string, int>> ok = {
      {":9188", "0.0.0.0", 9188},
      {"127.0.0.1:9000", "127.0.0.1", 9000},
      {"[::1]:9188", "::1", 9188},
      {"localhost:0", "localhost", 0},
  };
  for (const auto& [text, host, port] : ok) {
    auto a = ParseListenAddress(text);
    ASSERT_TRUE(a.ok()) << text;
    EXPECT_EQ(a->host, host);
    EXPECT_EQ(a->port, port);
  }
  for (std::string bad :
       {"9188", ":", "[::1]9188", "h:-1", "h:abc", "h:70000"}) {
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
  }
}

TEST(LoadConfigTest, FlagsOverrideTheFile) {
  TempFile f(
      "poll_interval: 10s\nlisten_address: \":1111\"\nlog_level: warn\n"
      "targets:\n  - name: a\n    host: h\n");
  Flags flags;
  flags.config_file = f.path();
  flags.poll_interval = Duration(2000);
  flags.listen_address = ":2222";
  auto c = LoadConfig(flags, FakeEnv({{"DB_HOST", "ignored"}}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->poll_interval.count(), 2000);
  EXPECT_EQ(c->listen_address, ":2222");
  EXPECT_EQ(c->log_level, LogLevel::kWarn);
  ASSERT_EQ(c->targets.size(), 1u);
  EXPECT_EQ(c->targets[0].name, "a");
}

TEST(LoadConfigTest, EnvironmentDefinesTheTargetWhenTheFileDoesNot) {
  TempFile f("poll_interval: 10s\n");
  Flags flags;
  flags.config_file = f.path();
  auto c = LoadConfig(flags, FakeEnv({{"DB_HOST", "envhost"}}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->targets.size(), 1u);
  EXPECT_EQ(c->targets[0].host, "envhost");
  EXPECT_EQ(c->poll_interval.count(), 10000);
}

TEST(LoadConfigTest, UnreadableFilesAreRefused) {
  Flags flags;
  flags.config_file = "/nonexistent/pgconn.yaml";
  auto c = LoadConfig(flags, FakeEnv({}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(
                "--config.file=/nonexistent/pgconn.yaml: cannot read"),
            std::string::npos)
      << c.status().message();

  TempFile f("targets:\n  - name: a\n    password_file: /nonexistent/pw\n");
  flags.config_file = f.path();
  c = LoadConfig(flags, FakeEnv({}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(
      c.status().message().find(
          ":2:5: target \"a\": password_file /nonexistent/pw: cannot read"),
      std::string::npos)
      << c.status().message();
}

TEST(PasswordFileTest, ReadsTheFirstLineWithoutItsEnding) {
  TempFile f("s3cret\r\nsecond line\n");
  auto pw = ReadPasswordFile(f.path());
  ASSERT_TRUE(pw.ok());
  EXPECT_EQ(pw->Reveal(), "s3cret");
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

TEST(CollectorSwitchConfigTest, FileTopLevelAndPerTargetAndFlags) {
  auto c = ParseConfigYaml(
      "collectors:\n"
      "  backends: false\n"
      "  sessions: yes\n"
      "targets:\n"
      "  - name: a\n"
      "    collectors:\n"
      "      users: off\n",
      "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->collectors.size(), 2u);
  EXPECT_FALSE(c->collectors.at("backends").enabled);
  EXPECT_EQ(c->collectors.at("backends").origin, "c.yaml:2:3");
  EXPECT_TRUE(c->collectors.at("sessions").enabled);
  ASSERT_EQ(c->targets.size(), 1u);
  EXPECT_FALSE(c->targets[0].collectors.at("users").enabled);
  EXPECT_EQ(c->targets[0].collectors.at("users").origin, "c.yaml:7:7");

  auto f =
      ParseFlags({"--no-collector.activity", "--collector.backends",
                  "--collector.users=false", "--no-collector.sessions=false"});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_FALSE(f->collectors.at("activity").enabled);
  EXPECT_EQ(f->collectors.at("activity").origin,
            "flag --no-collector.activity");
  EXPECT_TRUE(f->collectors.at("backends").enabled);
  EXPECT_FALSE(f->collectors.at("users").enabled);
  EXPECT_TRUE(f->collectors.at("sessions").enabled);
}

TEST(CollectorSwitchConfigTest, FlagsOverrideTheFileTopLevel) {
  TempFile file(
      "collectors:\n  backends: false\n  users: false\n"
      "targets:\n  - name: a\n");
  auto flags =
      ParseFlags({"--config.file=" + file.path(), "--collector.backends"});
  ASSERT_TRUE(flags.ok()) << flags.status().message();
  auto c = LoadConfig(*flags, FakeEnv({}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->collectors.at("backends").enabled);
  EXPECT_EQ(c->collectors.at("backends").origin, "flag --collector.backends");
  EXPECT_FALSE(c->collectors.at("users").enabled);
}

TEST(CollectorSwitchConfigTest, RejectsBadSwitches) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"collectors: [a]\n",
       "c.yaml:1:13: \"collectors\" must be a mapping of collector names to "
       "true or false"},
      {"collectors:\n  backends: sometimes\n",
       "c.yaml:2:13: a collector is switched with true or false"},
      {"collectors:\n  backends: [1]\n",
       "c.yaml:2:13: a collector is switched with true or false"},
      {"targets:\n  - name: a\n    collectors: 3\n",
       "c.yaml:3:17: \"collectors\" must be a mapping"},
  };
  for (const auto& [yaml, want] : cases) {
    auto r = ParseConfigYaml(yaml, "c.yaml");
    ASSERT_FALSE(r.ok()) << "accepted:\n" << yaml;
    EXPECT_NE(r.status().message().find(want), std::string::npos)
        << r.status().message();
  }
  for (const std::string flag :
       {"--collector.users=maybe", "--no-collector.users=1"}) {
    auto f = ParseFlags({flag});
    ASSERT_FALSE(f.ok()) << flag;
    EXPECT_NE(f.status().message().find("takes no value, or =true or =false"),
              std::string::npos)
        << f.status().message();
  }
  // A bare prefix is no switch: an unknown flag.
  EXPECT_FALSE(ParseFlags({"--collector."}).ok());
  EXPECT_FALSE(ParseFlags({"--no-collector."}).ok());
}

}  // namespace
}  // namespace pgconn
