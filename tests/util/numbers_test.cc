#include "util/numbers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace pgconn {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct IntCase {
  std::string text;
  int64_t want;
};

struct BadCase {
  std::string text;
  std::string message;
};

// Each text is refused with exactly its message and kInvalidData.
template <typename Parse>
void ExpectRefused(Parse parse, const std::vector<BadCase>& cases) {
  for (const BadCase& c : cases) {
    auto v = parse(c.text);
    ASSERT_FALSE(v.ok()) << c.text;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidData) << c.text;
    EXPECT_EQ(v.status().message(), c.message) << c.text;
  }
}

Result<int64_t> Int(std::string_view text) { return ParseInt64(text); }
Result<double> Double(std::string_view text) { return ParseDouble(text); }

TEST(NumbersTest, ParsesWholeNumbers) {
  const std::vector<IntCase> cases = {
      {"0", 0},
      {"42", 42},
      {"-1", -1},
      {"-0", 0},
      {"007", 7},
      {"9223372036854775807", kMax},
      {"-9223372036854775808", kMin},
  };
  for (const IntCase& c : cases) {
    auto v = ParseInt64(c.text);
    ASSERT_TRUE(v.ok()) << c.text << ": " << v.status().message();
    EXPECT_EQ(*v, c.want) << c.text;
  }
}

TEST(NumbersTest, RefusesTextThatIsNotAWholeNumber) {
  const std::vector<BadCase> cases = {
      {"", "\"\" is not a whole number"},
      {" 1", "\" 1\" is not a whole number"},
      {"1 ", "\"1 \" is not a whole number"},
      {"+1", "\"+1\" is not a whole number"},
      {"-", "\"-\" is not a whole number"},
      {"--1", "\"--1\" is not a whole number"},
      {"1.5", "\"1.5\" is not a whole number"},
      {"1e3", "\"1e3\" is not a whole number"},
      {"0x10", "\"0x10\" is not a whole number"},
      {"4x", "\"4x\" is not a whole number"},
      {"ten", "\"ten\" is not a whole number"},
      {"\xD9\xA1", "\"\xD9\xA1\" is not a whole number"},  // Arabic-Indic 1
  };
  ExpectRefused(Int, cases);
}

TEST(NumbersTest, RefusesOverflow) {
  const std::vector<BadCase> cases = {
      {"9223372036854775808",
       "9223372036854775808 is outside [-9223372036854775808, "
       "9223372036854775807]"},
      {"-9223372036854775809",
       "-9223372036854775809 is outside [-9223372036854775808, "
       "9223372036854775807]"},
      {"99999999999999999999999",
       "99999999999999999999999 is outside [-9223372036854775808, "
       "9223372036854775807]"},
  };
  ExpectRefused(Int, cases);
}

TEST(NumbersTest, ChecksInclusiveIntegerRanges) {
  struct Case {
    std::string text;
    int64_t min, max;
    int64_t want;         // when `message` is empty
    std::string message;  // the error otherwise
  };
  const std::vector<Case> cases = {
      {"1", 1, 65535, 1, ""},
      {"65535", 1, 65535, 65535, ""},
      {"0", 1, 65535, 0, "0 is outside [1, 65535]"},
      {"65536", 1, 65535, 0, "65536 is outside [1, 65535]"},
      {"-1", 0, 100000, 0, "-1 is outside [0, 100000]"},
      {"99999999999999999999", 0, 100000, 0,
       "99999999999999999999 is outside [0, 100000]"},
      {"-5", -5, -5, -5, ""},
      {"abc", 1, 10, 0, "\"abc\" is not a whole number"},
      {"", 1, 10, 0, "\"\" is not a whole number"},
  };
  for (const Case& c : cases) {
    auto v = ParseInt64InRange(c.text, c.min, c.max);
    if (c.message.empty()) {
      ASSERT_TRUE(v.ok()) << c.text << ": " << v.status().message();
      EXPECT_EQ(*v, c.want) << c.text;
    } else {
      ASSERT_FALSE(v.ok()) << c.text;
      EXPECT_EQ(v.status().message(), c.message) << c.text;
    }
  }
}

TEST(NumbersTest, ParsesFiniteDoubles) {
  const std::vector<std::pair<std::string, double>> cases = {
      {"1.25", 1.25},  {"12", 12},
      {"-0.5", -0.5},  {".5", 0.5},
      {"5.", 5},       {"1e3", 1000},
      {"1E-3", 0.001}, {"0", 0},
      {"-0", 0},       {"1712345678.123456", 1712345678.123456},
  };
  for (const auto& [text, want] : cases) {
    auto v = ParseDouble(text);
    ASSERT_TRUE(v.ok()) << text << ": " << v.status().message();
    EXPECT_DOUBLE_EQ(*v, want) << text;
  }
}

TEST(NumbersTest, RefusesNanAndInfinity) {
  const std::vector<BadCase> cases = {
      {"nan", "\"nan\" is not a finite number"},
      {"NaN", "\"NaN\" is not a finite number"},
      {"inf", "\"inf\" is not a finite number"},
      {"-inf", "\"-inf\" is not a finite number"},
      {"infinity", "\"infinity\" is not a finite number"},
      {"1e999", "\"1e999\" does not fit in a double"},
      {"-1e999", "\"-1e999\" does not fit in a double"},
      {"1e-999", "\"1e-999\" does not fit in a double"},
  };
  ExpectRefused(Double, cases);
}

TEST(NumbersTest, RefusesTextThatIsNotANumber) {
  const std::vector<BadCase> cases = {
      {"", "\"\" is not a number"},
      {" 1", "\" 1\" is not a number"},
      {"1 ", "\"1 \" is not a number"},
      {"+1", "\"+1\" is not a number"},
      {"0x1p3", "\"0x1p3\" is not a number"},
      {"1.5s", "\"1.5s\" is not a number"},
      {"1e", "\"1e\" is not a number"},
      {"1,5", "\"1,5\" is not a number"},
      {"..", "\"..\" is not a number"},
      {"x", "\"x\" is not a number"},
  };
  ExpectRefused(Double, cases);
}

TEST(NumbersTest, ChecksInclusiveDoubleRanges) {
  struct Case {
    std::string text;
    double min, max;
    std::string message;  // empty: accepted
  };
  const std::vector<Case> cases = {
      {"0", 0, 1e9, ""},
      {"1000000000", 0, 1e9, ""},
      {"300.5", 0, 1e9, ""},
      {"-5", 0, 1e9, "-5 is outside [0, 1000000000]"},
      {"1e10", 0, 1e9, "1e10 is outside [0, 1000000000]"},
      {"0.05", 0.1, 0.9, "0.05 is outside [0.1, 0.9]"},
      {"5m", 0, 1e9, "\"5m\" is not a number"},
      {"nan", 0, 1e9, "\"nan\" is not a finite number"},
  };
  for (const Case& c : cases) {
    auto v = ParseDoubleInRange(c.text, c.min, c.max);
    if (c.message.empty()) {
      EXPECT_TRUE(v.ok()) << c.text << ": " << v.status().message();
    } else {
      ASSERT_FALSE(v.ok()) << c.text;
      EXPECT_EQ(v.status().message(), c.message) << c.text;
    }
  }
}

TEST(NumbersTest, NeverEchoesHugeInput) {
  const std::string forty(kMaxEchoedChars, '1');
  const std::vector<BadCase> cases = {
      {std::string(100000, '1') + "x",
       "\"" + forty + "...\" is not a whole number"},
      {std::string(100000, '9'), std::string(kMaxEchoedChars, '9') +
                                     "... is outside [-9223372036854775808, "
                                     "9223372036854775807]"},
      {"1\n2\x7f", "\"1?2?\" is not a whole number"},
      // A two-byte character across the cut is left out whole.
      {std::string(kMaxEchoedChars - 1, 'a') + "\xC3\xA9" + "bbb",
       "\"" + std::string(kMaxEchoedChars - 1, 'a') +
           "...\" is not a whole number"},
  };
  ExpectRefused(Int, cases);
  ExpectRefused(Double, {{std::string(100000, '5') + "s",
                          "\"" + std::string(kMaxEchoedChars, '5') +
                              "...\" is not a number"}});
}

TEST(NumbersTest, ExcerptKeepsShortTextAsItIs) {
  EXPECT_EQ(Excerpt(""), "");
  EXPECT_EQ(Excerpt("5432"), "5432");
  EXPECT_EQ(Excerpt(std::string(kMaxEchoedChars, 'x')),
            std::string(kMaxEchoedChars, 'x'));
  EXPECT_EQ(Excerpt("caf\xC3\xA9"), "caf\xC3\xA9");
}

}  // namespace
}  // namespace pgconn
