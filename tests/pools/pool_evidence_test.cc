// The evidence a right-sizing reads (issue 20): busy peaks over the peak
// window and the saturation and busy-seconds counters, across polls, across
// a rebuilt stage (a reload), and with polls that lack activity data.
#include <gtest/gtest.h>

#include "expose/exposition_part.h"
#include "fakes/activity.h"
#include "fakes/fake_clock.h"
#include "pool_declaration.h"
#include "pools/pool_signals.h"

namespace pgconn {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A snapshot as the collectors leave it: 100 max_connections, 3 reserved,
// the groups given.
Snapshot Polled(std::vector<ActivityGroup> groups) {
  ConnectionLimits limits;
  limits.max_connections = 100;
  limits.superuser_reserved_connections = 3;
  Activity activity;
  activity.groups = std::move(groups);
  Summarize(&activity);
  Snapshot s;
  s.Put(limits);
  s.Put(std::move(activity));
  return s;
}

// `busy` of the worker's connections active, the rest of `open` idle.
Snapshot Worker(int64_t busy, int64_t open) {
  return Polled(
      {Group("worker", "active", busy), Group("worker", "idle", open - busy)});
}

PoolEvidenceSettings Settings(const FakeClock& clock,
                              std::shared_ptr<PoolEvidenceLedger> ledger,
                              Duration window = seconds(10)) {
  PoolEvidenceSettings s;
  s.peak_window = window;
  s.poll_interval_seconds = 1;
  s.clock = &clock;
  s.ledger = std::move(ledger);
  return s;
}

const PoolEvidence& EvidenceOf(const Snapshot& s, const std::string& app) {
  for (const DeclaredPoolSignals& d : s.Find<PoolSignals>()->declared) {
    if (d.application == app) return d.evidence;
  }
  ADD_FAILURE() << "no " << app;
  static const PoolEvidence kNone;
  return kNone;
}

// Polls `stage` once at the clock's time with `snap`, then moves the clock
// one second; returns the derived snapshot.
Snapshot Poll(const SignalStage& stage, FakeClock& clock, Snapshot snap) {
  stage.Derive(&snap);
  clock.Advance(seconds(1));
  return snap;
}

TEST(PoolEvidenceTest, SaturationCountsPollsAtOrAboveCapacity) {
  FakeClock clock;
  // 2 replicas × pool_max 3 = 6.
  auto stage = NewPoolBudgetStage({Pool("worker", 2, 0, 3)}, std::nullopt, 0.8,
                                  Settings(clock, nullptr));
  // busy 5 (below), 6 (at), 7 (above: undeclared replicas), 0.
  const int64_t busy[] = {5, 6, 7, 0};
  const double want_saturated[] = {0, 1, 2, 2};
  const double want_busy_seconds[] = {5, 11, 18, 18};
  for (size_t i = 0; i < 4; ++i) {
    Snapshot s = Poll(*stage, clock, Worker(busy[i], 8));
    EXPECT_EQ(EvidenceOf(s, "worker").saturated_seconds_total,
              want_saturated[i])
        << "poll " << i;
    EXPECT_EQ(EvidenceOf(s, "worker").busy_seconds_total, want_busy_seconds[i])
        << "poll " << i;
  }
}

TEST(PoolEvidenceTest, EachSaturatedPollCountsThePollInterval) {
  FakeClock clock;
  PoolEvidenceSettings settings = Settings(clock, nullptr);
  settings.poll_interval_seconds = 0.25;
  auto stage = NewPoolBudgetStage({Pool("worker", 1, 0, 2)}, std::nullopt, 0.8,
                                  settings);
  Snapshot s;
  for (int i = 0; i < 3; ++i) s = Poll(*stage, clock, Worker(2, 2));
  EXPECT_EQ(EvidenceOf(s, "worker").saturated_seconds_total, 0.75);
  EXPECT_EQ(EvidenceOf(s, "worker").busy_seconds_total, 1.5);
}

TEST(PoolEvidenceTest, ZeroReplicasNeverSaturate) {
  FakeClock clock;
  auto stage = NewPoolBudgetStage({Pool("batch", 0, 0, 10)}, std::nullopt, 0.8,
                                  Settings(clock, nullptr));
  Snapshot s = Poll(*stage, clock, Polled({Group("batch", "active", 2)}));
  EXPECT_EQ(EvidenceOf(s, "batch").saturated_seconds_total, 0);
  EXPECT_EQ(EvidenceOf(s, "batch").busy_peak, 2);
  EXPECT_EQ(EvidenceOf(s, "batch").busy_seconds_total, 2);
}

TEST(PoolEvidenceTest, BusyPeakCoversThePeakWindowOnly) {
  FakeClock clock;
  auto stage = NewPoolBudgetStage({Pool("worker", 1, 0, 20)}, std::nullopt, 0.8,
                                  Settings(clock, nullptr, seconds(3)));
  // A one-poll burst of 9 between quiet polls: seen for the window (3 s:
  // the polls at +1, +2 and +3 s still have it), gone after.
  const int64_t busy[] = {1, 9, 2, 1, 1, 1, 3};
  const double want_peak[] = {1, 9, 9, 9, 9, 2, 3};
  for (size_t i = 0; i < 7; ++i) {
    Snapshot s = Poll(*stage, clock, Worker(busy[i], 10));
    EXPECT_EQ(EvidenceOf(s, "worker").busy_peak, want_peak[i]) << "poll " << i;
  }
}

TEST(PoolEvidenceTest, IdleInTransactionAndFastpathAreBusyUnknownIsNot) {
  FakeClock clock;
  auto stage = NewPoolBudgetStage({Pool("worker", 1, 0, 20)}, std::nullopt, 0.8,
                                  Settings(clock, nullptr));
  Snapshot s =
      Poll(*stage, clock,
           Polled({Group("worker", "active", 1),
                   Group("worker", "idle in transaction", 2),
                   Group("worker", "idle in transaction (aborted)", 3),
                   Group("worker", "fastpath function call", 4),
                   Group("worker", "idle", 5), Group("worker", "unknown", 6),
                   Group("worker", "disabled", 7)}));
  EXPECT_EQ(EvidenceOf(s, "worker").busy_peak, 10);
}

TEST(PoolEvidenceTest, AReloadThatKeepsTheApplicationKeepsItsCounters) {
  FakeClock clock;
  auto ledger = std::make_shared<PoolEvidenceLedger>();
  auto before = NewPoolBudgetStage({Pool("worker", 1, 0, 2)}, std::nullopt, 0.8,
                                   Settings(clock, ledger));
  Poll(*before, clock, Worker(2, 2));
  Poll(*before, clock, Worker(2, 2));
  // The reload doubles the replicas and adds an application: a new stage
  // on the same ledger. Before its first poll (no activity) it exports the
  // counters as they were, not 0.
  auto after =
      NewPoolBudgetStage({Pool("worker", 2, 0, 2), Pool("bot", 1, 0, 1)},
                         std::nullopt, 0.8, Settings(clock, ledger));
  Snapshot empty;
  after->Derive(&empty);
  EXPECT_EQ(EvidenceOf(empty, "worker").saturated_seconds_total, 2);
  EXPECT_EQ(EvidenceOf(empty, "worker").busy_seconds_total, 4);
  EXPECT_EQ(EvidenceOf(empty, "bot").saturated_seconds_total, 0);
  // Capacity is 4 now: 2 busy do not saturate, the counter keeps its 2.
  Snapshot s = Poll(*after, clock, Worker(2, 2));
  EXPECT_EQ(EvidenceOf(s, "worker").saturated_seconds_total, 2);
  EXPECT_EQ(EvidenceOf(s, "worker").busy_seconds_total, 6);
  EXPECT_EQ(EvidenceOf(s, "worker").busy_peak, 2);
}

TEST(PoolEvidenceTest, APollWithoutActivityKeepsTheCountersAndRecordsNothing) {
  FakeClock clock;
  auto stage = NewPoolBudgetStage({Pool("worker", 1, 0, 2)}, std::nullopt, 0.8,
                                  Settings(clock, nullptr));
  Poll(*stage, clock, Worker(2, 2));
  Snapshot limits_only;
  ConnectionLimits l;
  l.max_connections = 100;
  limits_only.Put(l);
  Snapshot s = Poll(*stage, clock, std::move(limits_only));
  EXPECT_EQ(EvidenceOf(s, "worker").saturated_seconds_total, 1);
  EXPECT_EQ(EvidenceOf(s, "worker").busy_seconds_total, 2);
  // Counters are emitted, the observed busy gauges are not.
  MetricsWriter w;
  stage->Emit(s, EmitContext{{{"target", "t"}}, true}, &w);
  const std::string text =
      AssembleText({std::make_shared<const ExpositionPart>(w.TakePart())});
  EXPECT_NE(text.find("pgconn_pool_saturated_seconds_total{target=\"t\","
                      "application=\"worker\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("pgconn_pool_busy_peak_connections"), std::string::npos);
}

TEST(PoolEvidenceTest, AChangedPeakWindowRestartsThePeakNotTheCounters) {
  FakeClock clock;
  auto ledger = std::make_shared<PoolEvidenceLedger>();
  auto before = NewPoolBudgetStage({Pool("worker", 1, 0, 2)}, std::nullopt, 0.8,
                                   Settings(clock, ledger, seconds(60)));
  Poll(*before, clock, Worker(2, 2));
  auto after = NewPoolBudgetStage({Pool("worker", 1, 0, 2)}, std::nullopt, 0.8,
                                  Settings(clock, ledger, seconds(30)));
  Snapshot s = Poll(*after, clock, Worker(1, 2));
  EXPECT_EQ(EvidenceOf(s, "worker").busy_peak, 1);
  EXPECT_EQ(EvidenceOf(s, "worker").saturated_seconds_total, 1);
}

}  // namespace
}  // namespace pgconn
