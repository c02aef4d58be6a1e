#include "postgres/signals.h"

#include <gtest/gtest.h>

#include "fakes/activity.h"
#include "postgres/limited_groups.h"

namespace pgconn {
namespace {

ConnectionLimits Limits(int64_t max, int64_t su_reserved, int64_t reserved) {
  ConnectionLimits l;
  l.max_connections = max;
  l.superuser_reserved_connections = su_reserved;
  l.reserved_connections = reserved;
  return l;
}

Activity Groups(std::vector<ActivityGroup> groups) {
  Activity a;
  a.groups = std::move(groups);
  Summarize(&a);
  return a;
}

struct LimitCase {
  std::string name;
  int64_t max, su_reserved, reserved, used;
  double threshold;
  int64_t want_usable, want_available;
  double want_utilization;
  bool want_near;
};

TEST(SignalsTest, LimitArithmeticAtTheBoundaries) {
  const std::vector<LimitCase> cases = {
      {"nothing used", 100, 3, 0, 0, 0.8, 97, 97, 0.0, false},
      {"just below the threshold", 103, 3, 0, 79, 0.8, 100, 21, 0.79, false},
      {"exactly at the threshold", 103, 3, 0, 80, 0.8, 100, 20, 0.8, true},
      {"above the threshold", 103, 3, 0, 95, 0.8, 100, 5, 0.95, true},
      {"every usable slot taken", 103, 3, 0, 100, 0.8, 100, 0, 1.0, true},
      {"superusers in reserved slots", 103, 3, 0, 102, 0.8, 100, 0, 1.02, true},
      {"reserved_connections of PostgreSQL 16", 100, 3, 7, 45, 0.5, 90, 45, 0.5,
       true},
      {"reserved larger than max", 3, 5, 0, 0, 0.8, 0, 0, 1.0, true},
      {"threshold of 1", 13, 3, 0, 9, 1.0, 10, 1, 0.9, false},
      {"threshold of 1 reached", 13, 3, 0, 10, 1.0, 10, 0, 1.0, true},
      {"the guide's default server", 100, 3, 0, 30, 0.8, 97, 67, 30.0 / 97,
       false},
  };
  for (const LimitCase& c : cases) {
    const ConnectionSignals s = DeriveConnectionSignals(
        Limits(c.max, c.su_reserved, c.reserved),
        Groups({Group("w", "active", c.used)}).summary, c.threshold);
    EXPECT_EQ(s.used, c.used) << c.name;
    EXPECT_EQ(s.reserved, c.su_reserved + c.reserved) << c.name;
    EXPECT_EQ(s.usable, c.want_usable) << c.name;
    EXPECT_EQ(s.available, c.want_available) << c.name;
    EXPECT_DOUBLE_EQ(s.utilization, c.want_utilization) << c.name;
    EXPECT_EQ(s.near_limit, c.want_near) << c.name;
  }
}

TEST(SignalsTest, IdleRatioAndStates) {
  const ActivitySummary s =
      Groups({Group("worker", "idle", 10, 120), Group("worker", "active", 25),
              Group("bot", "idle in transaction", 3, 40, 50),
              Group("bot", "idle in transaction (aborted)", 1, 400, 410),
              Group("bot", "idle", 2, 700),
              Group("(unset)", "active", 4, 1, 2, 3)})
          .summary;
  EXPECT_EQ(s.used, 45);
  EXPECT_EQ(s.idle, 12);
  EXPECT_DOUBLE_EQ(s.idle_ratio, 12.0 / 45);
  EXPECT_EQ(s.idle_in_transaction, 4);
  EXPECT_EQ(s.lock_waiting, 3);
  ASSERT_EQ(s.applications.size(), 3u);
  const ApplicationSummary& bot = s.applications.at("bot");
  EXPECT_EQ(bot.connections, 6);
  EXPECT_DOUBLE_EQ(bot.oldest_idle_in_transaction_seconds, 400);
  EXPECT_DOUBLE_EQ(bot.oldest_idle_seconds, 700);
  EXPECT_DOUBLE_EQ(bot.oldest_transaction_seconds, 410);
  const ApplicationSummary& worker = s.applications.at("worker");
  EXPECT_DOUBLE_EQ(worker.oldest_idle_seconds, 120);
  EXPECT_DOUBLE_EQ(worker.oldest_idle_in_transaction_seconds, 0);
}

TEST(SignalsTest, IdleRatioIsZeroWhenNothingIsUsed) {
  const ActivitySummary s = Groups({}).summary;
  EXPECT_EQ(s.used, 0);
  EXPECT_DOUBLE_EQ(s.idle_ratio, 0.0);
  EXPECT_TRUE(s.applications.empty());
}

TEST(SignalsTest, LimitUtilization) {
  LimitedGroup none{"a", 5, std::nullopt};
  EXPECT_FALSE(detail::LimitUtilization(none).has_value());
  LimitedGroup half{"b", 5, 10};
  EXPECT_DOUBLE_EQ(*detail::LimitUtilization(half), 0.5);
  LimitedGroup zero{"c", 0, 0};
  EXPECT_DOUBLE_EQ(*detail::LimitUtilization(zero), 1.0);
  LimitedGroup over{"d", 12, 10};  // superusers ignore the limit
  EXPECT_DOUBLE_EQ(*detail::LimitUtilization(over), 1.2);
}

}  // namespace
}  // namespace pgconn
