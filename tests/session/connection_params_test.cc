#include "session/connection_params.h"

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

}  // namespace
}  // namespace pgconn
