#include "config/dsn.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace pgconn {
namespace {

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
