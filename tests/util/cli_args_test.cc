// The split of a command line by CLI11 (util/cli_args.h).
#include "util/cli_args.h"

#include <gtest/gtest.h>

#include <sstream>

namespace pgconn {
namespace {

const std::vector<CliFlag> kFlags = {
    {"a", CliArity::kValue},    {"b", CliArity::kValue},
    {"c", CliArity::kOptional}, {"d", CliArity::kOptional},
    {"e", CliArity::kValue},    {"s.x", CliArity::kSwitch},
    {"help", CliArity::kSwitch}};

TEST(CliArgsTest, ReadsInlineSeparateAndOptionalValues) {
  auto r = SplitCommandLine({"--a=1", "--b", "2", "--c", "--d", "x", "-h",
                             "--e=", "--s.x=false", "--a", "3"},
                            kFlags);
  ASSERT_TRUE(r.ok()) << r.status().message();
  using V = std::vector<std::string>;
  EXPECT_EQ(r->given.at("a"), (V{"1", "3"}));
  EXPECT_EQ(r->given.at("b"), V{"2"});
  EXPECT_EQ(r->given.at("c"), V{""});
  EXPECT_EQ(r->given.at("d"), V{"x"});
  EXPECT_EQ(r->given.at("help"), V{"true"});
  EXPECT_EQ(r->given.at("e"), V{""});
  EXPECT_EQ(r->given.at("s.x"), V{"false"});
  EXPECT_TRUE(r->extras.empty());
}

TEST(CliArgsTest, LeavesUnknownArgumentsAndRefusesOddSwitchValues) {
  auto r = SplitCommandLine({"--bogus=1", "plan", "--s.x"}, kFlags);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->extras, (std::vector<std::string>{"--bogus=1", "plan"}));
  EXPECT_EQ(RefuseExtras(r->extras, "--help").message(),
            "unknown flag --bogus (see --help)");
  EXPECT_EQ(RefuseExtras({"plan"}, "plan --help").message(),
            "unexpected argument \"plan\" (see plan --help)");
  EXPECT_EQ(RefuseExtras({"--"}, "--help").message(),
            "unexpected argument \"--\" (see --help)");
  EXPECT_TRUE(RefuseExtras({}, "--help").ok());
  for (const std::string bad : {"--s.x=", "--s.x=yes", "--help=1"}) {
    auto b = SplitCommandLine({bad}, kFlags);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find(": takes no value, or =true or =false"),
              std::string::npos)
        << b.status().message();
  }
}

TEST(CliArgsTest, HelpEntriesLineUpAndPlaceTheDefault) {
  std::ostringstream o;
  WriteHelpEntry(o, "--poll.interval=DURATION", "how often\nagain", "5s");
  WriteHelpEntry(o, "--a-very-long-flag-name=VALUE", "text", "");
  WriteHelpEntry(o, "--x", std::string(45, 'w'), "a default too long");
  EXPECT_EQ(o.str(),
            "  --poll.interval=DURATION    how often\n"
            "                              again (default 5s)\n"
            "  --a-very-long-flag-name=VALUE  text\n"
            "  --x                         " +
                std::string(45, 'w') +
                "\n"
                "                              (default a default too long)\n");
}

}  // namespace
}  // namespace pgconn
