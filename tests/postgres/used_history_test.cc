// The status page's last hour of used connections: bounded, one sample a
// second at most (the second's highest), an hour long, and carried by the
// buffer across stages.
#include "postgres/used_history.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "postgres/signals.h"

namespace pgconn {
namespace {

TEST(UsedHistoryTest, KeepsAnHourAtOneSampleASecondAtMost) {
  UsedHistoryBuffer b;
  // Two polls in the same second keep the higher one.
  b.Add(1'000'100, 3);
  b.Add(1'000'600, 7);
  b.Add(1'001'100, 2);
  auto s = b.Samples();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].used, 7);
  EXPECT_EQ(s[0].unix_ms, 1'000'600);
  EXPECT_EQ(s[1].used, 2);
  // An hour and 0.4 s after it the first sample is gone, the second kept.
  b.Add(1'000'600 + kUsedHistorySpanMs + 400, 5);
  s = b.Samples();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].unix_ms, 1'001'100);
  EXPECT_EQ(s[1].used, 5);
}

TEST(UsedHistoryTest, NeverMoreThanTheCapacity) {
  UsedHistoryBuffer b;
  for (int64_t i = 0; i < 10'000; ++i) b.Add(i * 1000, i);
  const auto s = b.Samples();
  ASSERT_EQ(s.size(), kUsedHistoryCapacity);
  EXPECT_EQ(s.back().used, 9'999);
  EXPECT_EQ(s.front().used,
            9'999 - static_cast<int64_t>(kUsedHistoryCapacity) + 1);
  EXPECT_EQ(sizeof(UsedSample), 16u);
}

TEST(UsedHistoryTest, AClockSetBackDropsTheSamplesAfterIt) {
  UsedHistoryBuffer b;
  b.Add(10'000, 1);
  b.Add(20'000, 2);
  b.Add(30'000, 3);
  b.Add(15'000, 4);
  const auto s = b.Samples();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].unix_ms, 15'000);
  EXPECT_EQ(s[1].used, 4);
}

TEST(UsedHistoryTest, TheStageRecordsSuccessfulPollsAndShares) {
  FakeClock clock;
  auto buffer = std::make_shared<UsedHistoryBuffer>();
  auto stage = NewUsedHistoryStage(clock, 2, buffer);
  Snapshot polled;
  ConnectionSignals c;
  c.used = 12;
  polled.Put(c);
  stage->Derive(&polled);
  clock.Advance(std::chrono::seconds(2));
  Snapshot failed;  // no signals: nothing recorded, the history still shown
  stage->Derive(&failed);
  ASSERT_NE(failed.Find<UsedHistory>(), nullptr);
  ASSERT_EQ(failed.Find<UsedHistory>()->samples.size(), 1u);
  EXPECT_EQ(failed.Find<UsedHistory>()->samples[0].used, 12);
  EXPECT_EQ(failed.Find<UsedHistory>()->samples[0].unix_ms, 1'700'000'000'000);
  EXPECT_EQ(failed.Find<UsedHistory>()->poll_interval_seconds, 2);
  // A second stage on the same buffer (a reload) sees the same history.
  auto again = NewUsedHistoryStage(clock, 2, buffer);
  Snapshot empty;
  again->Derive(&empty);
  EXPECT_EQ(empty.Find<UsedHistory>()->samples.size(), 1u);
}

}  // namespace
}  // namespace pgconn
