#include "http/basic_auth.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <chrono>

namespace pgconn {
namespace {

std::string Bcrypt(const std::string& password, int cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof(salt)),
            nullptr);
  crypt_data data{};
  const char* h = crypt_rn(password.c_str(), salt, &data, sizeof(data));
  EXPECT_NE(h, nullptr);
  return h;
}

TEST(BasicAuthTest, ParsesTheAuthorizationHeader) {
  // "prometheus:s3cret:x" (a password may hold ':').
  auto c = ParseBasicAuthorization("Basic cHJvbWV0aGV1czpzM2NyZXQ6eA==");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "prometheus");
  EXPECT_EQ(c->password, "s3cret:x");
  EXPECT_TRUE(ParseBasicAuthorization("basic cHJvbWV0aGV1czpzM2NyZXQ6eA==")
                  .has_value());
  for (const char* bad : {"", "Basic", "Basic ", "Bearer abc", "Basic !!!",
                          "Basic bm9jb2xvbg=="}) {  // "nocolon"
    EXPECT_FALSE(ParseBasicAuthorization(bad).has_value()) << bad;
  }
}

TEST(BasicAuthTest, VerifiesAgainstBcryptAndCachesTheVerifiedPassword) {
  BasicAuth auth({{"prometheus", Bcrypt("s3cret", 5)}});
  EXPECT_TRUE(auth.enabled());
  EXPECT_FALSE(auth.Cached("prometheus", "s3cret"));
  EXPECT_FALSE(auth.Verify("prometheus", "wrong"));
  EXPECT_FALSE(auth.Verify("nobody", "s3cret"));
  EXPECT_FALSE(auth.Verify("prometheus", ""));
  EXPECT_TRUE(auth.Verify("prometheus", "s3cret"));
  EXPECT_TRUE(auth.Cached("prometheus", "s3cret"));
  EXPECT_FALSE(auth.Cached("prometheus", "s3cret2"));
  EXPECT_FALSE(auth.Verify("prometheus", "s3cret2"));
  EXPECT_TRUE(auth.Verify("prometheus", "s3cret"));
}

TEST(BasicAuthTest, NoUsersMeansDisabled) {
  BasicAuth auth({});
  EXPECT_FALSE(auth.enabled());
}

}  // namespace
}  // namespace pgconn
