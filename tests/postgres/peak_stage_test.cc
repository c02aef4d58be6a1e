#include "postgres/peak_stage.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "postgres/observations.h"
#include "postgres/signals.h"

namespace pgconn {
namespace {

// A snapshot as a poll leaves it: settings, activity, connection signals.
Snapshot Poll(const SignalStage& connections, int64_t web, int64_t bot) {
  Snapshot snap;
  ConnectionLimits limits;
  limits.max_connections = 100;
  limits.superuser_reserved_connections = 3;
  snap.Put(limits);
  Activity a;
  a.groups.push_back({"web", "idle", web, 0, 0, 0});
  if (bot > 0) a.groups.push_back({"bot", "active", bot, 0, 0, 0});
  Summarize(&a);
  snap.Put(std::move(a));
  connections.Derive(&snap);
  return snap;
}

TEST(PostgresPeakStageTest, SpikeStaysForTheWindow) {
  FakeClock clock;
  auto connections = NewConnectionSignalStage(0.8);
  auto peaks = NewPostgresPeakStage(Duration(60000), clock);
  Snapshot s = Poll(*connections, 10, 0);
  peaks->Derive(&s);
  clock.Advance(std::chrono::seconds(1));
  s = Poll(*connections, 10, 50);  // the spike, one poll long
  peaks->Derive(&s);
  clock.Advance(std::chrono::seconds(1));
  s = Poll(*connections, 10, 0);
  peaks->Derive(&s);
  const auto* p = s.Find<PostgresPeaks>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->used, 60);
  EXPECT_DOUBLE_EQ(p->utilization, 60.0 / 97.0);
  EXPECT_EQ(p->applications.at("bot"), 50);
  EXPECT_EQ(p->applications.at("web"), 10);
  EXPECT_EQ(p->window_seconds, 60);
  clock.Advance(std::chrono::seconds(60));
  s = Poll(*connections, 10, 0);
  peaks->Derive(&s);
  p = s.Find<PostgresPeaks>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->used, 10);
  EXPECT_EQ(p->applications.count("bot"), 0u);

  MetricsWriter w;
  peaks->Emit(s, EmitContext{{{"target", "db"}}, true}, &w);
  const auto families = w.Take();
  ASSERT_EQ(families.size(), 4u);
  EXPECT_EQ(families[1].name, "pgconn_used_connections_peak");
  EXPECT_EQ(families[1].metric[0].gauge.value, 10);
}

TEST(PostgresPeakStageTest, NothingWithoutSignals) {
  FakeClock clock;
  auto peaks = NewPostgresPeakStage(Duration(60000), clock);
  Snapshot s;
  peaks->Derive(&s);
  EXPECT_EQ(s.Find<PostgresPeaks>(), nullptr);
  MetricsWriter w;
  peaks->Emit(s, EmitContext{{{"target", "db"}}, true}, &w);
  EXPECT_TRUE(w.Take().empty());
}

}  // namespace
}  // namespace pgconn
