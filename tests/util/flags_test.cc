#include "util/flags.h"

#include <gtest/gtest.h>

namespace pgconn {
namespace {

TEST(FlagReaderTest, ReadsInlineSeparateAndOptionalValues) {
  const std::vector<std::string> args = {"--a=1", "--b", "2",  "--c",
                                         "--d",   "x",   "-h", "--e="};
  FlagReader r(args, "--help");
  std::vector<std::string> seen;
  while (true) {
    auto more = r.Next();
    ASSERT_TRUE(more.ok()) << more.status().message();
    if (!*more) break;
    std::string v;
    if (r.name() == "a" || r.name() == "b" || r.name() == "e") {
      v = *r.Value();
    } else if (r.name() == "c" || r.name() == "d") {
      v = r.OptionalValue().value_or("(none)");
    }
    seen.push_back(r.name() + "=" + v);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a=1", "b=2", "c=(none)", "d=x",
                                            "help=", "e="}));
}

TEST(FlagReaderTest, RefusesPositionalsAndMissingValues) {
  const std::vector<std::string> stray = {"plan"};
  FlagReader r(stray, "plan --help");
  auto s = r.Next();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            "unexpected argument \"plan\" (see plan --help)");

  const std::vector<std::string> dashes = {"--"};
  FlagReader d(dashes, "--help");
  EXPECT_FALSE(d.Next().ok());

  const std::vector<std::string> last = {"--x"};
  FlagReader m(last, "--help");
  ASSERT_TRUE(*m.Next());
  auto v = m.Value();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "flag --x needs a value");
  EXPECT_EQ(m.Unknown().message(), "unknown flag --x (see --help)");
}

}  // namespace
}  // namespace pgconn
