#include "util/utf8.h"

#include <gtest/gtest.h>

namespace pgconn {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  for (const char* s :
       {"", "postgres", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x90\x98",
        "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
    EXPECT_EQ(ToValidUtf8(s), s);
  }
}

TEST(Utf8Test, ReplacesEveryBadByteWithOneReplacementCharacter) {
  const struct {
    std::string in, out;
  } cases[] = {
      {"bad\xFF", "bad\xEF\xBF\xBD"},
      {"\xFF\xFE", "\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},                  // overlong '/'
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // surrogate
      {"\xF4\x90\x80\x80x",
       "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx"},  // > U+10FFFF
      {"caf\xC3", "caf\xEF\xBF\xBD"},                         // truncated
      {"a\xE9t\xE9", "a\xEF\xBF\xBDt\xEF\xBF\xBD"},           // Latin-1 "été"
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(IsValidUtf8(c.in)) << c.in;
    EXPECT_EQ(ToValidUtf8(c.in), c.out) << c.in;
    EXPECT_TRUE(IsValidUtf8(ToValidUtf8(c.in)));
  }
}

TEST(Utf8Test, EveryByteStringComesOutValid) {
  // All two-byte strings: the output is always valid, and valid input is
  // kept as it is.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string s{static_cast<char>(a), static_cast<char>(b)};
      const std::string v = ToValidUtf8(s);
      ASSERT_TRUE(IsValidUtf8(v)) << a << " " << b;
      if (IsValidUtf8(s)) {
        ASSERT_EQ(v, s);
      }
    }
  }
}

}  // namespace
}  // namespace pgconn
