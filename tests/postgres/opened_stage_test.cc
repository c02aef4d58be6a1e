#include "postgres/opened_stage.h"

#include <gtest/gtest.h>

#include "postgres/observations.h"

namespace pgconn {
namespace {

ActivityGroup Group(const std::string& app, const std::string& state,
                    int64_t connections, int64_t opened) {
  ActivityGroup g;
  g.application = app;
  g.state = state;
  g.connections = connections;
  g.opened_connections = opened;
  return g;
}

Snapshot Poll(const SignalStage& stage, std::vector<ActivityGroup> groups) {
  Snapshot snap;
  Activity a;
  a.groups = std::move(groups);
  Summarize(&a);
  snap.Put(std::move(a));
  stage.Derive(&snap);
  return snap;
}

std::map<std::string, int64_t> Totals(const Snapshot& s) {
  const auto* o = s.Find<ConnectionsOpened>();
  EXPECT_NE(o, nullptr);
  return o ? o->totals : std::map<std::string, int64_t>{};
}

TEST(ConnectionsOpenedStageTest, AddsUpPollsPerApplication) {
  auto stage = NewConnectionsOpenedStage();
  // The first scan counts nothing, but every application present gets 0.
  Snapshot s = Poll(*stage, {Group("web", "idle", 4, 0),
                             Group("pgconn-agent", "active", 1, 0)});
  EXPECT_EQ(Totals(s),
            (std::map<std::string, int64_t>{{"pgconn-agent", 0}, {"web", 0}}));
  // Opened ones are counted over every state of the application.
  s = Poll(*stage, {Group("web", "idle", 4, 2), Group("web", "active", 3, 3),
                    Group("pgconn-agent", "active", 1, 0)});
  EXPECT_EQ(Totals(s).at("web"), 5);
  s = Poll(*stage, {Group("web", "idle", 7, 1), Group("(other)", "idle", 2, 2),
                    Group("pgconn-agent", "active", 1, 0)});
  EXPECT_EQ(Totals(s).at("web"), 6);
  EXPECT_EQ(Totals(s).at("(other)"), 2);

  MetricsWriter w;
  stage->Emit(s, EmitContext{{{"target", "db"}}, true}, &w);
  const auto families = w.Take();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].name, "pgconn_connections_opened_total");
  ASSERT_EQ(families[0].metric.size(), 3u);
}

TEST(ConnectionsOpenedStageTest, KeepsTotalsWhenActivityIsMissing) {
  auto stage = NewConnectionsOpenedStage();
  Poll(*stage, {Group("web", "idle", 4, 0)});
  Poll(*stage, {Group("web", "idle", 4, 4)});
  // A poll whose activity collector failed: the totals stay.
  Snapshot failed;
  stage->Derive(&failed);
  EXPECT_EQ(Totals(failed).at("web"), 4);
  Snapshot s = Poll(*stage, {Group("web", "idle", 5, 1)});
  EXPECT_EQ(Totals(s).at("web"), 5);
}

TEST(ConnectionsOpenedStageTest, ForgetsApplicationsThatAreGone) {
  auto stage = NewConnectionsOpenedStage();
  Poll(*stage, {Group("web", "idle", 1, 1), Group("name-1", "idle", 1, 1)});
  // A client inventing names cannot accumulate series: only this poll's
  // applications keep a counter.
  Snapshot s =
      Poll(*stage, {Group("web", "idle", 1, 0), Group("name-2", "idle", 1, 1)});
  EXPECT_EQ(Totals(s),
            (std::map<std::string, int64_t>{{"name-2", 1}, {"web", 1}}));
}

}  // namespace
}  // namespace pgconn
