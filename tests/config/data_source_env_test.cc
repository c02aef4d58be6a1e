// postgres_exporter's variables and the other migration forms of the
// environment (key=value strings, *_FILE secrets), through
// TargetFromEnvironment as the agent calls it.
#include <gtest/gtest.h>

#include "config/dsn.h"
#include "fakes/fake_env.h"
#include "pgconn/config.h"

namespace pgconn {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return FakeEnvironment(std::move(vars));
}
using SecretFile = ScratchFile;

bool Contains(const std::vector<std::string>& lines, std::string_view text) {
  for (const auto& l : lines) {
    if (l.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(DataSourceTest, DataSourceNameUrlBecomesTheTarget) {
  std::vector<std::string> notices;
  auto t = TargetFromEnvironment(
      Env({{"DATA_SOURCE_NAME",
            "postgresql://exporter:pw@db.internal:6432/app?sslmode=disable"},
           {"DATA_SOURCE_USER", "ignored"}}),
      &notices);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->url.Reveal(),
            "postgresql://exporter:pw@db.internal:6432/app?sslmode=disable");
  EXPECT_EQ(t->name, "db.internal:6432/app");
  EXPECT_TRUE(Contains(notices,
                       "connection from postgres_exporter's DATA_SOURCE_NAME; "
                       "ignored: DATA_SOURCE_USER"))
      << ::testing::PrintToString(notices);
}

TEST(DataSourceTest, DataSourceNameAcceptsKeyValue) {
  auto t = TargetFromEnvironment(
      Env({{"DATA_SOURCE_NAME",
            "user=postgres host=/var/run/postgresql dbname=app "
            "sslmode=disable"}}),
      nullptr);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->name, "/var/run/postgresql/app");
  EXPECT_EQ(DescribeTarget(*t),
            "host=/var/run/postgresql user=postgres dbname=app "
            "sslmode=disable");
}

TEST(DataSourceTest, UriUserAndPassAreCombined) {
  std::vector<std::string> notices;
  auto t = TargetFromEnvironment(
      Env({{"DATA_SOURCE_URI", "db:5432/postgres?sslmode=disable"},
           {"DATA_SOURCE_USER", "ops@corp"},
           {"DATA_SOURCE_PASS", "s3cr:et"},
           {"DB_HOST", "other"}}),
      &notices);
  ASSERT_TRUE(t.ok()) << t.status().message();
  // The user percent-encoded into the URL, the password kept beside it.
  EXPECT_EQ(t->url.Reveal(),
            "postgresql://ops%40corp@db:5432/postgres?sslmode=disable");
  EXPECT_EQ(t->password.Reveal(), "s3cr:et");
  EXPECT_EQ(t->name, "db:5432/postgres");
  EXPECT_NE(DescribeTarget(*t).find("user=ops@corp"), std::string::npos);
  EXPECT_TRUE(Contains(notices,
                       "connection from postgres_exporter's "
                       "DATA_SOURCE_URI,DATA_SOURCE_USER,DATA_SOURCE_PASS"))
      << ::testing::PrintToString(notices);
  EXPECT_TRUE(
      Contains(notices, "DATA_SOURCE_* is set, so these are ignored: DB_HOST"));
  for (const auto& n : notices) {
    EXPECT_EQ(n.find("s3cr"), std::string::npos) << n;
  }
}

TEST(DataSourceTest, FileFormsWinOverPlainOnes) {
  SecretFile user("monitor\n");
  SecretFile uri("  db.internal/app  \n");
  SecretFile pass("from-file\n");
  std::vector<std::string> notices;
  auto t = TargetFromEnvironment(Env({{"DATA_SOURCE_URI_FILE", uri.path()},
                                      {"DATA_SOURCE_USER_FILE", user.path()},
                                      {"DATA_SOURCE_USER", "plain"},
                                      {"DATA_SOURCE_PASS_FILE", pass.path()},
                                      {"DATA_SOURCE_PASS", "plain-pass"}}),
                                 &notices);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->url.Reveal(), "postgresql://monitor@db.internal/app");
  EXPECT_TRUE(t->password.empty());
  EXPECT_EQ(t->password_file, pass.path());  // read again at every connect
  EXPECT_TRUE(Contains(notices, "ignored: DATA_SOURCE_USER,DATA_SOURCE_PASS"))
      << ::testing::PrintToString(notices);
}

TEST(DataSourceTest, UnreadableFileNamesTheVariable) {
  auto t = TargetFromEnvironment(
      Env({{"DATA_SOURCE_URI", "db/app"},
           {"DATA_SOURCE_USER_FILE", "/nonexistent/pgconn-user"}}),
      nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("DATA_SOURCE_USER_FILE"),
            std::string::npos)
      << t.status().message();
}

TEST(DataSourceTest, UserAndPassWithoutUriAreIgnoredWithANotice) {
  std::vector<std::string> notices;
  auto t = TargetFromEnvironment(
      Env({{"DATA_SOURCE_USER", "u"}, {"DB_HOST", "h"}}), &notices);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "h");
  EXPECT_TRUE(Contains(notices,
                       "DATA_SOURCE_URI is not set, so these are ignored: "
                       "DATA_SOURCE_USER"))
      << ::testing::PrintToString(notices);
}

TEST(DataSourceTest, DatabaseUrlWinsOverDataSource) {
  std::vector<std::string> notices;
  auto t = TargetFromEnvironment(
      Env({{"DATABASE_URL", "postgresql://h/db"},
           {"DATA_SOURCE_NAME", "postgresql://other/db"}}),
      &notices);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->url.Reveal(), "postgresql://h/db");
  EXPECT_TRUE(Contains(notices, "ignored: DATA_SOURCE_NAME"))
      << ::testing::PrintToString(notices);
}

TEST(DataSourceTest, MultiTargetFormIsRefusedButMultiHostIsNot) {
  auto multi = TargetFromEnvironment(
      Env({{"DATA_SOURCE_NAME",
            "postgresql://u:hunter2@a/db,postgresql://u:hunter2@b/db"}}),
      nullptr);
  ASSERT_FALSE(multi.ok());
  EXPECT_NE(multi.status().message().find("holds 2 comma-separated"),
            std::string::npos)
      << multi.status().message();
  EXPECT_EQ(multi.status().message().find("hunter2"), std::string::npos);
  auto hosts = TargetFromEnvironment(
      Env({{"DATA_SOURCE_NAME", "postgresql://a:5432,b:5433/db"}}), nullptr);
  EXPECT_TRUE(hosts.ok()) << hosts.status().message();
}

TEST(DataSourceTest, BadValuesNameTheVariableNotTheSecret) {
  for (const auto& [var, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"DATA_SOURCE_NAME", "password=hunter2 host='unterminated"},
           {"DATA_SOURCE_NAME", "hunter2"},
           {"DATA_SOURCE_URI", "u:hunter2@h:port/db"},
           {"DATABASE_URL", "password=hunter2 nosuchkey=1"}}) {
    auto t = TargetFromEnvironment(Env({{var, value}}), nullptr);
    ASSERT_FALSE(t.ok()) << var << "=" << value;
    EXPECT_NE(t.status().message().find("environment variable " + var),
              std::string::npos)
        << t.status().message();
    EXPECT_EQ(t.status().message().find("hunter2"), std::string::npos)
        << t.status().message();
  }
}

TEST(KeyValueTest, DatabaseUrlAndYamlAcceptConninfoStrings) {
  auto env = TargetFromEnvironment(
      Env({{"DATABASE_URL", "host=db port=6543 dbname=orders user=app"}}),
      nullptr);
  ASSERT_TRUE(env.ok()) << env.status().message();
  EXPECT_EQ(env->name, "db:6543/orders");
  auto yaml = ParseConfigYaml(
      "targets:\n  - name: kv\n    url: \"host=db dbname=app\"\n", "f.yml");
  ASSERT_TRUE(yaml.ok()) << yaml.status().message();
  EXPECT_EQ(yaml->targets[0].url.Reveal(), "host=db dbname=app");
  auto bad = ParseConfigYaml(
      "targets:\n  - name: kv\n    url: \"host=db port=99999\"\n", "f.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("f.yml:3:10"), std::string::npos)
      << bad.status().message();
}

TEST(KeyValueTest, RedactsKeyValuePasswords) {
  TargetConfig t;
  t.url = Secret("host=db password='pa ss' dbname=app");
  EXPECT_EQ(RedactSecrets("auth failed for pa ss", t),
            "auth failed for <redacted>");
}

TEST(DbPasswordFileTest, FileWinsOverDbPassword) {
  SecretFile pass("rotated\n");
  std::vector<std::string> notices;
  auto t = TargetFromEnvironment(Env({{"DB_HOST", "h"},
                                      {"DB_PASSWORD", "old"},
                                      {"DB_PASSWORD_FILE", pass.path()}}),
                                 &notices);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->password.empty());
  EXPECT_EQ(t->password_file, pass.path());
  EXPECT_TRUE(
      Contains(notices, "DB_PASSWORD_FILE is set, so DB_PASSWORD is ignored"));
}

TEST(DbPasswordFileTest, LoadConfigRefusesAnUnreadableFile) {
  auto cfg = LoadConfig(
      Flags{}, Env({{"DB_HOST", "h"},
                    {"DB_PASSWORD_FILE", "/nonexistent/pgconn-pass"}}));
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("/nonexistent/pgconn-pass"),
            std::string::npos)
      << cfg.status().message();
}

}  // namespace
}  // namespace pgconn
