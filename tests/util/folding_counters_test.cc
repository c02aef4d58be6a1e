#include "util/folding_counters.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

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

// The O(1) bookkeeping against the definition, a plain model that finds the
// least recently seen value by a search: random names, pins and bounds.
class Model {
 public:
  Model(size_t max, std::string other) : max_(max), other_(std::move(other)) {}
  void Pin(std::set<std::string, std::less<>> p) { pinned_ = std::move(p); }
  void SetMax(size_t max) {
    max_ = max;
    while (entries_.size() > max_) {
      auto o = Oldest();
      if (o == entries_.end()) return;
      Displace(o);
    }
  }
  void Add(const std::string& label, uint64_t n) {
    ++tick_;
    if (label == other_) {
      other_value_ += n;
      other_exists_ = true;
      return;
    }
    auto it = entries_.find(label);
    if (it == entries_.end()) {
      if (entries_.size() >= max_) {
        auto o = Oldest();
        if (o == entries_.end() || max_ == 0) {
          other_value_ += n;
          other_exists_ = true;
          return;
        }
        Displace(o);
      }
      it = entries_.emplace(label, std::pair<uint64_t, uint64_t>{0, 0}).first;
    }
    it->second.first += n;
    it->second.second = tick_;
  }
  std::map<std::string, uint64_t> Values() const {
    std::map<std::string, uint64_t> out;
    for (const auto& [l, e] : entries_) out[l] = e.first;
    if (other_exists_) out[other_] += other_value_;
    return out;
  }
  uint64_t displaced = 0;

 private:
  using Entries = std::map<std::string, std::pair<uint64_t, uint64_t>>;
  Entries::iterator Oldest() {
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (pinned_.count(it->first) > 0) continue;
      if (oldest == entries_.end() || it->second.second < oldest->second.second)
        oldest = it;
    }
    return oldest;
  }
  void Displace(Entries::iterator it) {
    other_value_ += it->second.first;
    other_exists_ = true;
    entries_.erase(it);
    ++displaced;
  }
  size_t max_;
  std::string other_;
  std::set<std::string, std::less<>> pinned_;
  Entries entries_;
  uint64_t other_value_ = 0;
  bool other_exists_ = false;
  uint64_t tick_ = 0;
};

TEST(FoldingCountersTest, SameAsSearchingForTheLeastRecentlySeen) {
  std::mt19937 random(24);  // fixed seed: the same cases every run
  for (int round = 0; round < 20; ++round) {
    const size_t max = random() % 8;
    FoldingCounters c(max, "(other)");
    Model m(max, "(other)");
    for (int step = 0; step < 2000; ++step) {
      const uint32_t r = random() % 100;
      if (r < 2) {
        std::set<std::string, std::less<>> pins;
        for (int i = 0; i < 3; ++i)
          pins.insert("a" + std::to_string(random() % 12));
        c.Pin(pins);
        m.Pin(pins);
      } else if (r < 4) {
        const size_t bound = random() % 8;
        c.SetMaxLabels(bound);
        m.SetMax(bound);
      } else {
        const std::string label =
            r < 8 ? "(other)" : "a" + std::to_string(random() % 12);
        const uint64_t n = random() % 3;
        c.Add(label, n);
        m.Add(label, n);
      }
      ASSERT_EQ(c.Values(), m.Values())
          << "round " << round << " step " << step;
      ASSERT_EQ(c.displaced(), m.displaced);
    }
  }
}

}  // namespace
}  // namespace pgconn
