#include "config/dsn.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace pgconn {
namespace {

TEST(BuildConnectionParamsTest, FieldsBecomeKeywords) {
  TargetConfig t;
  t.name = "main";
  t.host = "db";
  t.port = "5433";
  t.user = "monitor";
  t.dbname = "app";
  t.sslmode = "require";
  t.password = Secret("pw");
  SessionOptions o;
  o.connect_timeout = Duration(3500);
  o.statement_timeout = Duration(2500);
  auto p = BuildConnectionParams(t, o);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_FALSE(p->expand_dbname);
  EXPECT_EQ(p->Get("host"), "db");
  EXPECT_EQ(p->Get("port"), "5433");
  EXPECT_EQ(p->Get("user"), "monitor");
  EXPECT_EQ(p->Get("dbname"), "app");
  EXPECT_EQ(p->Get("sslmode"), "require");
  EXPECT_EQ(p->Get("password"), "pw");
  EXPECT_EQ(p->Get("application_name"), "pgconn-agent");
  EXPECT_EQ(p->Get("connect_timeout"), "4");
  EXPECT_EQ(p->Get("options"), "-c statement_timeout=2500");
}

TEST(BuildConnectionParamsTest, UrlIsExpandedAndOurSettingsComeAfterIt) {
  TargetConfig t;
  t.url = Secret(
      "postgresql://u:pw@h:5432/"
      "db?application_name=theirs&options=-c%20work_mem%3D4MB");
  auto p = BuildConnectionParams(t, SessionOptions{});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->expand_dbname);
  ASSERT_FALSE(p->keywords.empty());
  EXPECT_EQ(p->keywords[0], "dbname");
  EXPECT_EQ(p->values[0], t.url.Reveal());
  // Later keywords override the URL's.
  EXPECT_EQ(p->Get("application_name"), "pgconn-agent");
  EXPECT_EQ(p->Get("options"), "-c work_mem=4MB -c statement_timeout=5000");
}

TEST(BuildConnectionParamsTest, ShortConnectTimeoutIsRoundedUpToLibpqMinimum) {
  TargetConfig t;
  SessionOptions o;
  o.connect_timeout = Duration(100);
  auto p = BuildConnectionParams(t, o);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Get("connect_timeout"), "2");
}

TEST(BuildConnectionParamsTest, PgBouncerGetsItsAdminDatabaseAndNoOptions) {
  TargetConfig t;
  t.kind = TargetKind::kPgBouncer;
  t.host = "127.0.0.1";
  auto p = BuildConnectionParams(t, SessionOptions{});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Get("dbname"), "pgbouncer");
  EXPECT_EQ(p->Get("options"), "");
}

TEST(BuildConnectionParamsTest, PasswordFileIsReadAtEveryBuild) {
  char tmpl[] = "/tmp/pgconn_dsn_test_XXXXXX";
  const int fd = mkstemp(tmpl);
  close(fd);
  TargetConfig t;
  t.password_file = tmpl;
  std::ofstream(tmpl) << "first\n";
  auto p = BuildConnectionParams(t, SessionOptions{});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Get("password"), "first");
  std::ofstream(tmpl) << "rotated\n";
  p = BuildConnectionParams(t, SessionOptions{});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Get("password"), "rotated");
  std::remove(tmpl);
  p = BuildConnectionParams(t, SessionOptions{});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kIoError);
}

TEST(ValidateUrlTest, AcceptsPostgresUrlsOnly) {
  EXPECT_TRUE(ValidateUrl("postgresql://h/db").ok());
  EXPECT_TRUE(ValidateUrl("postgres://u:p@h:5432/db?sslmode=require").ok());
  EXPECT_TRUE(ValidateUrl("postgresql://").ok());
  for (std::string bad :
       {"mysql://h/db", "host=h dbname=db", "", "postgresql://h:port/db",
        "postgresql://h/db?nosuchparam=1"}) {
    EXPECT_FALSE(ValidateUrl(bad).ok()) << bad;
  }
}

TEST(ValidateUrlTest, ChecksEveryPortOfAHostList) {
  EXPECT_TRUE(ValidateUrl("postgresql://a:5432,b:6432/db").ok());
  EXPECT_TRUE(ValidateUrl("postgresql://h:65535/db").ok());
  for (std::string bad :
       {"postgresql://h:0/db", "postgresql://h:65536/db",
        "postgresql://a:5432,b:x/db", "postgresql://h:99999999999999999999/db",
        "postgresql://h:+5/db", "postgresql://h:-1/db"}) {
    Status s = ValidateUrl(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("is not a number from 1 to 65535"),
              std::string::npos)
        << s.message();
  }
}

TEST(ParsePortTest, AcceptsOneTo65535) {
  EXPECT_EQ(*ParsePort("1"), 1);
  EXPECT_EQ(*ParsePort("5432"), 5432);
  EXPECT_EQ(*ParsePort("65535"), 65535);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"0", "0 is outside [1, 65535]"},
      {"65536", "65536 is outside [1, 65535]"},
      {"", "\"\" is not a whole number"},
      {" 5432", "\" 5432\" is not a whole number"},
      {"54 32", "\"54 32\" is not a whole number"},
  };
  for (const auto& [text, message] : bad) {
    auto p = ParsePort(text);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().message(), message);
  }
}

TEST(DescribeTargetTest, NeverShowsThePassword) {
  TargetConfig u;
  u.url =
      Secret("postgresql://app:hunter2@db.example:6543/orders?sslmode=require");
  EXPECT_EQ(DescribeTarget(u),
            "host=db.example port=6543 user=app dbname=orders sslmode=require");
  TargetConfig f;
  f.host = "h";
  f.user = "u";
  f.password = Secret("hunter2");
  EXPECT_EQ(DescribeTarget(f), "host=h user=u");
  EXPECT_EQ(DescribeTarget(TargetConfig{}), "(libpq defaults)");
}

TEST(RedactSecretsTest, RemovesInlineUrlAndEncodedPasswords) {
  TargetConfig t;
  t.password = Secret("hunter2");
  EXPECT_EQ(RedactSecrets("bad password hunter2 here", t),
            "bad password <redacted> here");
  TargetConfig u;
  u.url = Secret("postgresql://app:p%40ss@h/db");
  EXPECT_EQ(RedactSecrets("x p%40ss y p@ss z", u),
            "x <redacted> y <redacted> z");
  EXPECT_EQ(RedactSecrets("nothing secret", TargetConfig{}), "nothing secret");
}

TEST(ParseConninfoTest, DropsThePassword) {
  auto f = ParseConninfo("postgresql://u:pw@h:1/d");
  ASSERT_TRUE(f.ok());
  for (const auto& [k, v] : *f) {
    EXPECT_NE(k, "password");
    EXPECT_NE(v, "pw");
  }
}

}  // namespace
}  // namespace pgconn
