#include "postgres/opened_stage.h"

#include <gtest/gtest.h>

#include "postgres/observations.h"

namespace pgconn {
namespace {

using Totals = std::map<std::string, uint64_t>;

// One successful scan: the applications present (one group each) and the
// recent backends by identity.
Snapshot Scan(const SignalStage& stage, std::vector<std::string> apps,
              std::vector<RecentBackend> recent) {
  Snapshot snap;
  Activity a;
  for (const std::string& app : apps) {
    ActivityGroup g;
    g.application = app;
    g.state = "idle";
    g.connections = 1;
    a.groups.push_back(g);
  }
  a.recent = std::move(recent);
  a.scan_time_us = 1764612345000000;
  Summarize(&a);
  snap.Put(std::move(a));
  stage.Derive(&snap);
  return snap;
}

Totals TotalsOf(const Snapshot& s) {
  const auto* o = s.Find<ConnectionsOpened>();
  EXPECT_NE(o, nullptr);
  return o ? o->totals : Totals{};
}

std::shared_ptr<OpenedCounts> Counts(size_t max_applications = 50) {
  return std::make_shared<OpenedCounts>(max_applications,
                                        std::set<std::string, std::less<>>{});
}

TEST(ConnectionsOpenedStageTest, CountsBackendsNotSeenInThePreviousScan) {
  auto stage = NewConnectionsOpenedStage(Counts());
  // The first scan counts nothing, but every application present gets 0.
  Snapshot s =
      Scan(*stage, {"web", "pgconn-agent"}, {{"web", "10:1"}, {"web", "11:2"}});
  EXPECT_EQ(TotalsOf(s), (Totals{{"pgconn-agent", 0}, {"web", 0}}));
  // 12 is new; 10 and 11 were there.
  s = Scan(*stage, {"web", "pgconn-agent"},
           {{"web", "10:1"}, {"web", "11:2"}, {"web", "12:3"}});
  EXPECT_EQ(TotalsOf(s)["web"], 1u);
  // The same pid with another backend_start is another session; a session
  // that logged in after its backend_start (a login that overlapped the
  // previous scan) is new whenever it shows up.
  s = Scan(*stage, {"web", "batch"},
           {{"web", "12:3"}, {"web", "10:9"}, {"batch", "13:2"}});
  EXPECT_EQ(TotalsOf(s),
            (Totals{{"batch", 1}, {"pgconn-agent", 0}, {"web", 2}}));
}

// The identities are the stage's alone: the snapshot, kept until the next
// poll, keeps the groups without them.
TEST(ConnectionsOpenedStageTest, TheSnapshotKeepsNoIdentities) {
  auto stage = NewConnectionsOpenedStage(Counts());
  Scan(*stage, {"web"}, {{"web", "1:1"}});
  const Snapshot s = Scan(*stage, {"web"}, {{"web", "1:1"}, {"web", "2:1"}});
  EXPECT_EQ(TotalsOf(s)["web"], 1u);
  const auto* a = s.Find<Activity>();
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->recent.empty());
  ASSERT_EQ(a->groups.size(), 1u);
  EXPECT_EQ(a->groups[0].application, "web");
}

TEST(ConnectionsOpenedStageTest, AFailedScanKeepsTheCountsAndTheIdentities) {
  auto stage = NewConnectionsOpenedStage(Counts());
  Scan(*stage, {"web"}, {{"web", "1:1"}});
  Snapshot s = Scan(*stage, {"web"}, {{"web", "1:1"}, {"web", "2:1"}});
  EXPECT_EQ(TotalsOf(s)["web"], 1u);
  Snapshot empty;
  stage->Derive(&empty);  // no activity this poll
  EXPECT_EQ(TotalsOf(empty)["web"], 1u);
  s = Scan(*stage, {"web"}, {{"web", "1:1"}, {"web", "2:1"}});
  EXPECT_EQ(TotalsOf(s)["web"], 1u);
}

TEST(ConnectionsOpenedStageTest, AnApplicationWithoutBackendsKeepsItsCounter) {
  auto stage = NewConnectionsOpenedStage(Counts());
  Scan(*stage, {"web"}, {});
  Scan(*stage, {"web", "cron"}, {{"cron", "5:5"}});
  // cron's session came and went: its series stays, with its count.
  Snapshot s = Scan(*stage, {"web"}, {});
  EXPECT_EQ(TotalsOf(s), (Totals{{"cron", 1}, {"web", 0}}));
}

TEST(ConnectionsOpenedStageTest, BoundedWithoutAnySeriesGoingDown) {
  auto stage = NewConnectionsOpenedStage(Counts(2));
  Scan(*stage, {}, {});
  Scan(*stage, {"a"}, {{"a", "1:1"}});
  Scan(*stage, {"b"}, {{"b", "2:1"}});
  // A third name: the least recently seen (a) moves into (other).
  Snapshot s = Scan(*stage, {"c"}, {{"c", "3:1"}});
  EXPECT_EQ(TotalsOf(s), (Totals{{"(other)", 1}, {"b", 1}, {"c", 1}}));
}

TEST(ConnectionsOpenedStageTest, ANewPipelineGoesOnFromTheSameCounts) {
  auto counts = Counts();
  {
    auto stage = NewConnectionsOpenedStage(counts);
    Scan(*stage, {"web"}, {{"web", "1:1"}});
    Scan(*stage, {"web"}, {{"web", "1:1"}, {"web", "2:1"}});
  }
  // A reload rebuilt the target's poller: the counts and the identities
  // of the last scan go on.
  auto stage = NewConnectionsOpenedStage(counts);
  Snapshot s = Scan(*stage, {"web"}, {{"web", "2:1"}, {"web", "3:1"}});
  EXPECT_EQ(TotalsOf(s)["web"], 2u);
}

}  // namespace
}  // namespace pgconn
