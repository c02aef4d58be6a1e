#include "util/folding_counters.h"

#include <gtest/gtest.h>

namespace pgconn {
namespace {

using Values = std::map<std::string, uint64_t>;

TEST(FoldingCountersTest, KeepsACounterThatIsNoLongerSeen) {
  FoldingCounters c(3, "(other)");
  c.Add("a", 5);
  c.Add("b", 1);
  c.Add("b", 0);
  EXPECT_EQ(c.Values(), (Values{{"a", 5}, {"b", 1}}));
  EXPECT_EQ(c.Total(), 6u);
}

TEST(FoldingCountersTest, TheLeastRecentlySeenMovesIntoOtherWhenFull) {
  FoldingCounters c(2, "(other)");
  c.Add("a", 5);
  c.Add("b", 1);
  c.Add("a", 0);  // seen again: b is now the least recent
  c.Add("c", 2);
  EXPECT_EQ(c.Values(), (Values{{"a", 5}, {"c", 2}, {"(other)", 1}}));
  EXPECT_EQ(c.displaced(), 1u);
  EXPECT_EQ(c.Total(), 8u);
  // b comes back: it takes a's place (least recent), a's 5 join (other).
  c.Add("b", 1);
  EXPECT_EQ(c.Values(), (Values{{"b", 1}, {"c", 2}, {"(other)", 6}}));
  EXPECT_EQ(c.Total(), 9u);
}

TEST(FoldingCountersTest, NoCounterEverGoesDownAndTheSumNeverDecreases) {
  FoldingCounters c(4, "(other)");
  Values last;
  uint64_t total = 0;
  for (int i = 0; i < 2000; ++i) {
    // Names that come and go, some often, most once.
    const std::string name =
        i % 3 == 0 ? "steady" : "app-" + std::to_string((i * 7919) % 97);
    c.Add(name, static_cast<uint64_t>(i % 5));
    const Values now = c.Values();
    for (const auto& [label, v] : now) {
      auto it = last.find(label);
      if (it != last.end()) {
        EXPECT_GE(v, it->second) << label << " at " << i;
      }
    }
    EXPECT_GE(c.Total(), total);
    EXPECT_LE(now.size(), 5u);  // four places and (other)
    total = c.Total();
    last = now;
  }
  EXPECT_EQ(c.Values().count("steady"), 1u);
}

TEST(FoldingCountersTest, PinnedValuesAreNeverDisplaced) {
  FoldingCounters c(2, "(other)");
  c.Pin({"pool"});
  c.Add("pool", 1);
  c.Add("x", 1);
  c.Add("y", 1);
  c.Add("z", 1);
  EXPECT_EQ(c.Values(), (Values{{"pool", 1}, {"z", 1}, {"(other)", 2}}));
}

TEST(FoldingCountersTest, WithoutPlacesEverythingIsOther) {
  FoldingCounters c(0, "(other)");
  c.Add("a", 2);
  c.Add("(other)", 1);
  EXPECT_EQ(c.Values(), (Values{{"(other)", 3}}));
}

}  // namespace
}  // namespace pgconn
