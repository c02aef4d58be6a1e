#include <gtest/gtest.h>

#include "expose/exposition_part.h"
#include "fakes/activity.h"
#include "golden_file.h"
#include "pool_declaration.h"
#include "pools/pool_signals.h"

namespace pgconn {
namespace {

// What the settings and activity collectors observed.
struct Observed {
  ConnectionLimits limits;
  Activity activity;
};

Observed Data(int64_t max_connections, int64_t su_reserved,
              std::vector<ActivityGroup> groups) {
  Observed d;
  d.limits.max_connections = max_connections;
  d.limits.superuser_reserved_connections = su_reserved;
  d.activity.groups = std::move(groups);
  Summarize(&d.activity);
  return d;
}

const DeclaredPoolSignals* Find(const PoolSignals& s, const std::string& app) {
  for (const auto& d : s.declared) {
    if (d.application == app) return &d;
  }
  return nullptr;
}

struct BudgetCase {
  std::string name;
  int replicas, pool_max, overhead;
  int64_t max_connections;
  double threshold;
  int64_t want_budget;
  double want_ratio;
  bool want_overcommitted;
};

TEST(PoolSignalsTest, BudgetAgainstTheUsableLimit) {
  const std::vector<BudgetCase> cases = {
      // 97 usable, 77 under the 80 % line: the same boundaries as the planner.
      // Every budget includes 1 for pgconn's own session.
      {"at the headroom line", 7, 10, 6, 100, 0.8, 77, 77.0 / 97, false},
      {"one above the line", 7, 10, 7, 100, 0.8, 78, 78.0 / 97, true},
      {"every usable slot", 9, 10, 6, 100, 0.8, 97, 1.0, true},
      {"above the limit", 10, 10, 0, 100, 0.8, 101, 101.0 / 97, true},
      {"the guide's 10 x 8 with 3 reserved", 10, 8, 0, 100, 0.8, 81, 81.0 / 97,
       true},
      // 80 of 100 fits the line exactly, the agent's session does not.
      {"the guide's 10 x 8 with room", 10, 8, 0, 103, 0.8, 81, 0.81, true},
      {"the guide's 10 x 8 with room for the agent", 10, 8, 0, 105, 0.8, 81,
       81.0 / 102, false},
      {"custom threshold", 9, 7, 6, 103, 0.7, 70, 0.7, false},
      {"custom threshold passed", 9, 7, 7, 103, 0.7, 71, 0.71, true},
      {"scaled to zero", 0, 10, 0, 100, 0.8, 1, 1.0 / 97, false},
  };
  for (const BudgetCase& c : cases) {
    const Observed d = Data(c.max_connections, 3, {});
    const PoolSignals s =
        DerivePoolSignals({Pool("worker", c.replicas, 0, c.pool_max)},
                          c.overhead, &d.limits, &d.activity, c.threshold);
    EXPECT_EQ(s.budget, c.want_budget) << c.name;
    ASSERT_TRUE(s.budget_ratio.has_value()) << c.name;
    EXPECT_DOUBLE_EQ(*s.budget_ratio, c.want_ratio) << c.name;
    ASSERT_TRUE(s.overcommitted.has_value()) << c.name;
    EXPECT_EQ(*s.overcommitted, c.want_overcommitted) << c.name;
  }
}

struct ApplicationCase {
  std::string name;
  PoolDeclaration pool;
  std::vector<ActivityGroup> activity;
  int64_t want_connections, want_excess, want_idle_above_min;
  std::optional<double> want_utilization, want_busy;
};

TEST(PoolSignalsTest, PerApplication) {
  const std::vector<ApplicationCase> cases = {
      {"not connected", Pool("w", 3, 1, 4), {}, 0, 0, 0, 0.0, 0.0},
      {"half full, all idle at the minimum",
       Pool("w", 3, 2, 4),
       {Group("w", "idle", 6)},
       6,
       0,
       0,
       0.5,
       0.0},
      {"full and busy",
       Pool("w", 3, 1, 4),
       {Group("w", "active", 9), Group("w", "idle in transaction", 2),
        Group("w", "idle in transaction (aborted)", 1)},
       12,
       0,
       0,
       1.0,
       1.0},
      {"exactly full, idle above the minimum",
       Pool("w", 3, 1, 4),
       {Group("w", "idle", 12)},
       12,
       0,
       9,
       1.0,
       0.0},
      {"one beyond the declared pool",
       Pool("w", 3, 1, 4),
       {Group("w", "idle", 4), Group("w", "active", 9)},
       13,
       1,
       1,
       13.0 / 12,
       9.0 / 12},
      {"unknown and disabled are neither idle nor busy",
       Pool("w", 2, 0, 5),
       {Group("w", "unknown", 3), Group("w", "disabled", 1),
        Group("w", "fastpath function call", 1)},
       5,
       0,
       0,
       0.5,
       0.1},
      {"scaled to zero: every connection is excess",
       Pool("w", 0, 1, 4),
       {Group("w", "idle", 2)},
       2,
       2,
       2,
       std::nullopt,
       std::nullopt},
      {"another application does not count",
       Pool("w", 1, 0, 4),
       {Group("x", "active", 3)},
       0,
       0,
       0,
       0.0,
       0.0},
  };
  for (const ApplicationCase& c : cases) {
    const Observed d = Data(100, 3, c.activity);
    const PoolSignals s =
        DerivePoolSignals({c.pool}, std::nullopt, &d.limits, &d.activity, 0.8);
    ASSERT_EQ(s.declared.size(), 1u) << c.name;
    const DeclaredPoolSignals& a = s.declared[0];
    EXPECT_EQ(a.connections, c.want_connections) << c.name;
    EXPECT_EQ(a.excess, c.want_excess) << c.name;
    EXPECT_EQ(a.idle_above_min, c.want_idle_above_min) << c.name;
    EXPECT_EQ(a.utilization.has_value(), c.want_utilization.has_value())
        << c.name;
    if (a.utilization && c.want_utilization) {
      EXPECT_DOUBLE_EQ(*a.utilization, *c.want_utilization) << c.name;
    }
    EXPECT_EQ(a.busy_ratio.has_value(), c.want_busy.has_value()) << c.name;
    if (a.busy_ratio && c.want_busy) {
      EXPECT_DOUBLE_EQ(*a.busy_ratio, *c.want_busy) << c.name;
    }
  }
}

TEST(PoolSignalsTest, UndeclaredApplicationsAndTheirShare) {
  const Observed d =
      Data(100, 3,
           {Group("worker", "idle", 6), Group("psql", "active", 1),
            Group("(unset)", "idle", 1), Group("(other)", "unknown", 2),
            Group("gone", "idle", 0)});
  // "(other)" is never a declared application, even when a pool says so.
  const PoolSignals s =
      DerivePoolSignals({Pool("worker", 2, 1, 5), Pool("(other)", 1, 0, 5)}, 5,
                        &d.limits, &d.activity, 0.8);
  ASSERT_EQ(s.undeclared.size(), 3u);
  EXPECT_EQ(s.undeclared[0].application, "(other)");
  EXPECT_EQ(s.undeclared[0].connections, 2);
  EXPECT_DOUBLE_EQ(s.undeclared[0].share, 0.2);
  EXPECT_EQ(s.undeclared[1].application, "(unset)");
  EXPECT_DOUBLE_EQ(s.undeclared[1].share, 0.1);
  EXPECT_EQ(s.undeclared[2].application, "psql");
  EXPECT_EQ(s.undeclared[2].connections, 1);
  ASSERT_NE(Find(s, "(other)"), nullptr);
  EXPECT_EQ(Find(s, "(other)")->connections, 0);
  EXPECT_EQ(s.overhead, 5);
  EXPECT_EQ(s.monitoring_agents, 1);
  EXPECT_EQ(s.budget, 21);  // 2 × 5 + 1 × 5 + 5 + pgconn itself
}

TEST(PoolSignalsTest, WithoutASnapshotOnlyTheDeclarationsAreKnown) {
  const PoolSignals s =
      DerivePoolSignals({Pool("worker", 10, 2, 10)}, 20, nullptr, nullptr, 0.8);
  EXPECT_EQ(s.budget, 121);
  EXPECT_FALSE(s.budget_ratio.has_value());
  EXPECT_FALSE(s.overcommitted.has_value());
  EXPECT_TRUE(s.undeclared.empty());
  ASSERT_EQ(s.declared.size(), 1u);
  EXPECT_EQ(s.declared[0].declared_max, 100);
  EXPECT_EQ(s.declared[0].declared_min, 20);

  const Observed no_limits = Data(100, 3, {Group("worker", "idle", 1)});
  const PoolSignals t = DerivePoolSignals({Pool("worker", 10, 2, 10)}, 20,
                                          nullptr, &no_limits.activity, 0.8);
  EXPECT_FALSE(t.budget_ratio.has_value());
  EXPECT_FALSE(t.overcommitted.has_value());
  EXPECT_EQ(t.declared[0].connections, 1);
}

// A target with declared pools, every kind of application; a second
// target that declares pools but has not been polled yet; a third that
// declares nothing.
std::string PoolExposition() {
  const Observed d =
      Data(100, 3,
           {Group("worker", "idle", 25), Group("worker", "active", 18),
            Group("worker", "idle in transaction", 2), Group("bot", "idle", 6),
            Group("bot", "active", 1), Group("batch", "idle", 2),
            Group("psql", "active", 1), Group("(unset)", "idle", 1),
            Group("(other)", "unknown", 3)});
  Snapshot polled;
  polled.Put(d.limits);
  polled.Put(d.activity);
  struct Target {
    std::string name;
    std::vector<PoolDeclaration> pools;
    std::optional<int> overhead;
    bool polled;
  };
  const Target targets[] = {
      {"main",
       {Pool("worker", 10, 2, 5), Pool("bot", 1, 1, 5), Pool("batch", 0, 0, 10),
        Pool("reports", 2, 0, 3)},
       25,
       true},
      {"replica", {Pool("worker", 10, 2, 5)}, std::nullopt, false},
      {"plain", {}, std::nullopt, true},
  };
  MetricsWriter w;
  for (const Target& t : targets) {
    auto stage = NewPoolBudgetStage(t.pools, t.overhead, 0.8);
    Snapshot snap = t.polled ? polled : Snapshot();
    stage->Derive(&snap);
    stage->Emit(snap, EmitContext{{{"target", t.name}}, t.polled}, &w);
  }
  return AssembleText({std::make_shared<const ExpositionPart>(w.TakePart())});
}

TEST(PoolMetricsTest, MatchesGoldenFile) {
  ExpectGolden("pools.prom", PoolExposition());
}

TEST(PoolMetricsTest, ExactValuesOfTheCannedTarget) {
  const std::string text = PoolExposition();
  for (const char* line : {
           "pgconn_pool_budget_connections{target=\"main\"} 87\n",
           "pgconn_pool_overhead_connections{target=\"main\"} 25\n",
           "pgconn_pool_overcommitted{target=\"main\"} 1\n",
           "pgconn_pool_declared_max_connections{target=\"main\","
           "application=\"worker\"} 50\n",
           "pgconn_pool_utilization_ratio{target=\"main\","
           "application=\"worker\"} 0.9\n",
           "pgconn_pool_busy_ratio{target=\"main\",application=\"worker\"} "
           "0.4\n",
           "pgconn_pool_excess_connections{target=\"main\","
           "application=\"bot\"} 2\n",
           "pgconn_pool_idle_above_min_connections{target=\"main\","
           "application=\"worker\"} 5\n",
           "pgconn_pool_excess_connections{target=\"main\","
           "application=\"batch\"} 2\n",
           "pgconn_undeclared_connections{target=\"main\","
           "application=\"(other)\"} 3\n",
           "pgconn_pool_budget_connections{target=\"replica\"} 51\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  // 0 replicas: no utilization; the replica has no snapshot: no ratios.
  EXPECT_EQ(text.find("pgconn_pool_utilization_ratio{target=\"main\","
                      "application=\"batch\"}"),
            std::string::npos);
  EXPECT_EQ(text.find("pgconn_pool_budget_ratio{target=\"replica\"}"),
            std::string::npos);
  EXPECT_EQ(text.find("pgconn_pool_excess_connections{target=\"replica\""),
            std::string::npos);
  EXPECT_EQ(text.find("target=\"plain\""), std::string::npos);
}

}  // namespace
}  // namespace pgconn
