// A bounded, deterministic fuzz of everything that reads a password: a few
// thousand hostile URLs, connection strings and YAML files go through the
// real parsing entry points, and no message, name or description that
// comes out may contain the password.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "config/dsn.h"
#include "fakes/hostile_inputs.h"
#include "pgconn/config.h"

namespace pgconn {
namespace {

using testing::ContainsPassword;
using testing::HostileInputs;

constexpr uint64_t kSeed = 20261201;
constexpr int kCases = 3000;

EnvLookup Env(std::string name, std::string value) {
  return [name, value](std::string_view n) -> std::optional<std::string> {
    if (n == name) return value;
    return std::nullopt;
  };
}

TEST(SecretsFuzzTest, UrlsNeverLeakThePassword) {
  HostileInputs gen(kSeed);
  int refused = 0, accepted = 0;
  for (int i = 0; i < kCases; ++i) {
    const std::string url = gen.Url();
    const Status v = ValidateUrl(url);
    ASSERT_FALSE(ContainsPassword(v.message())) << url << "\n" << v.message();
    (v.ok() ? accepted : refused)++;
    std::vector<std::string> notices;
    auto t = TargetFromEnvironment(Env("DATABASE_URL", url), &notices);
    ASSERT_EQ(t.ok(), v.ok()) << url;
    if (!t.ok()) {
      ASSERT_FALSE(ContainsPassword(t.status().message())) << url;
      continue;
    }
    ASSERT_FALSE(ContainsPassword(t->name)) << url << "\nname: " << t->name;
    ASSERT_FALSE(ContainsPassword(DescribeTarget(*t))) << url;
    for (const auto& n : notices) ASSERT_FALSE(ContainsPassword(n)) << url;
    // What libpq says when a connection fails may quote the password as it
    // decoded it; the session redacts it.
    auto fields = ParseConninfo(url);
    ASSERT_TRUE(fields.ok()) << url;
    for (const auto& [k, val] : *fields) {
      ASSERT_FALSE(k == "password") << url;
      if (k == "host" || k == "port" || k == "dbname") {
        ASSERT_FALSE(ContainsPassword(val)) << url << "\n" << k << "=" << val;
      }
    }
  }
  // Both kinds occur: the fuzz reaches the accepting paths too.
  EXPECT_GT(refused, kCases / 10);
  EXPECT_GT(accepted, kCases / 10);
}

TEST(SecretsFuzzTest, ConnectionStringsNeverLeakThePassword) {
  HostileInputs gen(kSeed + 1);
  int refused = 0;
  for (int i = 0; i < kCases; ++i) {
    const std::string conninfo = gen.Conninfo();
    const Status s = CheckConnectionString(conninfo);
    ASSERT_FALSE(ContainsPassword(s.message())) << conninfo;
    refused += s.ok() ? 0 : 1;
    auto fields = ParseConninfo(conninfo);
    if (!fields.ok()) {
      ASSERT_FALSE(ContainsPassword(fields.status().message())) << conninfo;
      continue;
    }
    TargetConfig t;
    t.url = Secret(conninfo);
    ASSERT_FALSE(ContainsPassword(DescribeTarget(t))) << conninfo;
  }
  EXPECT_GT(refused, 0);
}

TEST(SecretsFuzzTest, YamlFilesNeverLeakThePassword) {
  HostileInputs gen(kSeed + 2);
  int refused = 0, accepted = 0;
  for (int i = 0; i < kCases; ++i) {
    const std::string yaml = gen.Yaml();
    auto c = ParseConfigYaml(yaml, "fuzz.yaml");
    if (!c.ok()) {
      ++refused;
      ASSERT_FALSE(ContainsPassword(c.status().message()))
          << yaml << "\n"
          << c.status().message();
      continue;
    }
    ++accepted;
    for (const TargetConfig& t : c->targets) {
      ASSERT_FALSE(ContainsPassword(t.name)) << yaml;
      ASSERT_FALSE(ContainsPassword(DescribeTarget(t))) << yaml;
      ASSERT_FALSE(ContainsPassword(t.origin)) << yaml;
    }
  }
  EXPECT_GT(refused, kCases / 10);
  EXPECT_GT(accepted, kCases / 20);  // most mutations break the YAML
}

TEST(SecretsFuzzTest, RedactSecretsRemovesThePasswordAsLibpqDecodedIt) {
  HostileInputs gen(kSeed + 3);
  for (int i = 0; i < kCases; ++i) {
    const std::string url = gen.Url();
    if (!ValidateUrl(url).ok()) continue;
    // libpq's own decoding of the password, as an error message would hold
    // it ("password authentication failed ... <password>").
    TargetConfig t;
    t.url = Secret(url);
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
    ASSERT_NE(opts, nullptr) << url;
    std::string decoded;
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
      if (std::string_view(o->keyword) == "password" && o->val)
        decoded = o->val;
    }
    PQconninfoFree(opts);
    const std::string msg = "FATAL: no luck for " + decoded + " today";
    ASSERT_FALSE(ContainsPassword(RedactSecrets(msg, t))) << url;
  }
}

}  // namespace
}  // namespace pgconn
