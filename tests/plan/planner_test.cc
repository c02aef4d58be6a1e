#include "plan/planner.h"

#include <gtest/gtest.h>

namespace pgconn {
namespace {

constexpr int64_t kMb = 1024 * 1024;

PlanInput Input(int64_t workers, int64_t pool_max, int64_t max_connections,
                int64_t reserved, int64_t overhead = 0) {
  PlanInput in;
  in.workers = workers;
  in.pool_max = pool_max;
  in.max_connections = max_connections;
  in.reserved = reserved;
  in.overhead = overhead;
  // The guide's arithmetic has no monitoring agent; the tests of
  // --monitoring-agents below set it.
  in.monitoring_agents = 0;
  return in;
}

Plan MustPlan(const PlanInput& in) {
  auto p = MakePlan(in);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : Plan{};
}

TEST(PlannerTest, MonitoringAgentsDefaultToOneOrdinarySlot) {
  EXPECT_EQ(PlanInput{}.monitoring_agents, 1);
}

// Issue 10: with the agent connected, 7 pool connections do not fit into
// max_connections 10 minus 3 reserved.
TEST(PlannerTest, MonitoringAgentTakesAnOrdinarySlot) {
  PlanInput in = Input(1, 7, 10, 3);
  EXPECT_EQ(MustPlan(in).verdict, Verdict::kOverHeadroom);  // 7 > 5, <= 7
  in.headroom = 1.0;
  EXPECT_EQ(MustPlan(in).verdict, Verdict::kOk);  // 7 of 7 without the agent
  in.monitoring_agents = 1;
  const Plan p = MustPlan(in);
  EXPECT_EQ(p.fixed_connections, 1);
  EXPECT_EQ(p.total_connections, 8);
  EXPECT_EQ(p.usable_connections, 7);
  EXPECT_EQ(p.verdict, Verdict::kOverLimit);
  ASSERT_TRUE(p.reduce_pool_max.pool_max.has_value());
  EXPECT_EQ(*p.reduce_pool_max.pool_max, 6);  // 6 + 1 agent = 7
  EXPECT_EQ(p.reduce_pool_max.total_connections, 7);
  EXPECT_EQ(p.raise_max_connections.max_connections, 11);  // 8 + 3 reserved
}

TEST(PlannerTest, MonitoringAgentsCountWithTheOverheadEverywhere) {
  PlanInput in = Input(10, 10, 100, 3, 20);
  in.monitoring_agents = 2;
  const Plan p = MustPlan(in);
  EXPECT_EQ(p.total_connections, 100 + 20 + 2);
  // headroom line floor(0.8 × 97) = 77: (77 - 22) / 10 = 5.
  ASSERT_TRUE(p.reduce_pool_max.pool_max.has_value());
  EXPECT_EQ(*p.reduce_pool_max.pool_max, 5);
  EXPECT_EQ(p.reduce_pool_max.total_connections, 72);
  // PgBouncer's server pool plus everything that connects directly.
  EXPECT_EQ(p.use_pgbouncer.server_connections, 25 + 20 + 2);
}

TEST(PlannerTest, MonitoringAgentsAreRangeChecked) {
  PlanInput in = Input(1, 5, 100, 3);
  in.monitoring_agents = 0;
  EXPECT_TRUE(ValidatePlanInput(in).ok());
  in.monitoring_agents = -1;
  Status s = ValidatePlanInput(in);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "--monitoring-agents -1 is outside [0, 1000]");
  in.monitoring_agents = 1001;
  EXPECT_FALSE(ValidatePlanInput(in).ok());
}

struct VerdictCase {
  std::string name;
  int64_t total, usable;
  double headroom;
  int64_t want_headroom_connections;
  Verdict want;
};

TEST(PlannerTest, VerdictBoundaries) {
  const std::vector<VerdictCase> cases = {
      // PostgreSQL's defaults: 100 - 3 reserved = 97 usable, 80 % = 77.6.
      {"defaults, at the headroom line", 77, 97, 0.8, 77, Verdict::kOk},
      {"defaults, one above the line", 78, 97, 0.8, 77, Verdict::kOverHeadroom},
      {"defaults, every usable slot", 97, 97, 0.8, 77, Verdict::kOverHeadroom},
      {"defaults, one above usable", 98, 97, 0.8, 77, Verdict::kOverLimit},
      // Exactly 80 % of 100 is within the headroom (the guide's 10 × 8).
      {"exactly 80 of 100", 80, 100, 0.8, 80, Verdict::kOk},
      {"81 of 100", 81, 100, 0.8, 80, Verdict::kOverHeadroom},
      {"100 of 100", 100, 100, 0.8, 80, Verdict::kOverHeadroom},
      {"101 of 100", 101, 100, 0.8, 80, Verdict::kOverLimit},
      // Products that are not exact in binary floating point.
      {"0.7 of 10 is 7", 7, 10, 0.7, 7, Verdict::kOk},
      {"8 of 10 at 0.7", 8, 10, 0.7, 7, Verdict::kOverHeadroom},
      {"0.3 of 10 is 3", 3, 10, 0.3, 3, Verdict::kOk},
      {"4 of 10 at 0.3", 4, 10, 0.3, 3, Verdict::kOverHeadroom},
      {"0.9 of 10", 9, 10, 0.9, 9, Verdict::kOk},
      {"headroom 1: the limit itself", 97, 97, 1.0, 97, Verdict::kOk},
      {"headroom 1: one above", 98, 97, 1.0, 97, Verdict::kOverLimit},
      {"nothing planned", 0, 97, 0.8, 77, Verdict::kOk},
      {"no usable slot, nothing planned", 0, 0, 0.8, 0, Verdict::kOk},
      {"no usable slot", 1, 0, 0.8, 0, Verdict::kOverLimit},
  };
  for (const VerdictCase& c : cases) {
    EXPECT_EQ(HeadroomConnections(c.usable, c.headroom),
              c.want_headroom_connections)
        << c.name;
    EXPECT_EQ(ClassifyTotal(c.total, c.usable, c.headroom), c.want) << c.name;
  }
}

TEST(PlannerTest, VerdictNames) {
  EXPECT_EQ(VerdictName(Verdict::kOk), "ok");
  EXPECT_EQ(VerdictName(Verdict::kOverHeadroom), "over_headroom");
  EXPECT_EQ(VerdictName(Verdict::kOverLimit), "over_limit");
}

// The guide's "Example Calculations" table: workers × DB_POOL_MAX.
TEST(PlannerTest, GuideExampleCalculationsTable) {
  PlanInput base = Input(1, 10, 100, 3);
  auto rows = MakeScaleTable(base, {1, 5, 10, 20});
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 4u);
  const std::vector<std::pair<int64_t, int64_t>> want = {
      {1, 10}, {5, 50}, {10, 100}, {20, 200}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*rows)[i].workers, want[i].first);
    EXPECT_EQ((*rows)[i].total_connections, want[i].second);
  }
  // Against PostgreSQL's default limit: 97 usable, 77 under the headroom.
  EXPECT_EQ((*rows)[0].verdict, Verdict::kOk);
  EXPECT_EQ((*rows)[1].verdict, Verdict::kOk);
  EXPECT_EQ((*rows)[2].verdict, Verdict::kOverLimit);
  EXPECT_EQ((*rows)[3].verdict, Verdict::kOverLimit);
  EXPECT_DOUBLE_EQ((*rows)[1].utilization_ratio, 50.0 / 97);
  EXPECT_EQ((*rows)[0].largest_pool_max, 77);
  EXPECT_EQ((*rows)[1].largest_pool_max, 15);
  EXPECT_EQ((*rows)[2].largest_pool_max, 7);
  EXPECT_EQ((*rows)[3].largest_pool_max, 3);
}

struct GuideDeployment {
  std::string name;
  int64_t workers, pool_max, overhead;
  int64_t want_total;
  Verdict want;
  int64_t want_needed_max_connections;
};

// "Recommended Values by Scale", against the default max_connections of 100
// with its 3 superuser slots.
TEST(PlannerTest, GuideRecommendedValuesByScale) {
  const std::vector<GuideDeployment> cases = {
      // "3 workers × 10 = 30 connections (safe with default PostgreSQL)"
      {"small", 3, 10, 0, 30, Verdict::kOk, 41},
      // "8 workers × 8 = 64 connections"
      {"medium", 8, 8, 0, 64, Verdict::kOk, 83},
      // ... "Increase PostgreSQL max_connections to 100+ recommended": once
      // the guide's 20 connections of overhead are counted, 100 is too few.
      {"medium with overhead", 8, 8, 20, 84, Verdict::kOverHeadroom, 108},
      // "10 workers × 5 = 50 connections"
      {"large", 10, 5, 0, 50, Verdict::kOk, 66},
  };
  for (const GuideDeployment& c : cases) {
    const Plan p = MustPlan(Input(c.workers, c.pool_max, 100, 3, c.overhead));
    EXPECT_EQ(p.total_connections, c.want_total) << c.name;
    EXPECT_EQ(p.verdict, c.want) << c.name;
    EXPECT_EQ(p.raise_max_connections.max_connections,
              c.want_needed_max_connections)
        << c.name;
  }
}

// "Example: Scaling from 1 to 10 Workers", step by step.
TEST(PlannerTest, GuideScalingFromOneToTenWorkers) {
  // "Initial Setup (1 worker): Total: 1 × 10 = 10 connections ✅"
  Plan one = MustPlan(Input(1, 10, 100, 3));
  EXPECT_EQ(one.total_connections, 10);
  EXPECT_EQ(one.verdict, Verdict::kOk);

  // "Scaling to 5 Workers: Total: 5 × 10 = 50 connections ✅ Default
  // PostgreSQL limit: 100 - Safe with overhead" (the guide's 10-20).
  Plan five = MustPlan(Input(5, 10, 100, 3));
  EXPECT_EQ(five.total_connections, 50);
  EXPECT_EQ(five.verdict, Verdict::kOk);
  for (int64_t overhead : {10, 20}) {
    Plan with = MustPlan(Input(5, 10, 100, 3, overhead));
    EXPECT_EQ(with.total_connections, 50 + overhead);
    EXPECT_EQ(with.verdict, Verdict::kOk) << overhead;
  }

  // "Scaling to 10 Workers" at DB_POOL_MAX=10: 100 connections do not fit
  // the 97 usable slots; that is why the guide lists three options.
  Plan ten = MustPlan(Input(10, 10, 100, 3));
  EXPECT_EQ(ten.total_connections, 100);
  EXPECT_EQ(ten.usable_connections, 97);
  EXPECT_EQ(ten.verdict, Verdict::kOverLimit);
  EXPECT_DOUBLE_EQ(ten.utilization_ratio, 100.0 / 97);
}

TEST(PlannerTest, GuideOptionOneReducePoolMax) {
  // The guide counts 80 % of max_connections itself (no reserved slots):
  // "DB_POOL_MAX=8, Total: 10 × 8 = 80 connections ✅".
  Plan guide = MustPlan(Input(10, 10, 100, 0));
  ASSERT_TRUE(guide.reduce_pool_max.pool_max.has_value());
  EXPECT_EQ(*guide.reduce_pool_max.pool_max, 8);
  EXPECT_EQ(guide.reduce_pool_max.total_connections, 80);
  EXPECT_DOUBLE_EQ(guide.reduce_pool_max.utilization_ratio, 0.8);
  EXPECT_EQ(MustPlan(Input(10, 8, 100, 0)).verdict, Verdict::kOk);

  // With PostgreSQL's 3 superuser slots only 77 fit: DB_POOL_MAX=7.
  Plan real = MustPlan(Input(10, 10, 100, 3));
  EXPECT_EQ(real.reduce_pool_max.pool_max, 7);
  EXPECT_EQ(real.reduce_pool_max.total_connections, 70);
  EXPECT_EQ(MustPlan(Input(10, 8, 100, 3)).verdict, Verdict::kOverHeadroom);
}

TEST(PlannerTest, GuideOptionTwoRaiseMaxConnections) {
  // "DB_POOL_MAX=10, max_connections=200, Total: 10 × 10 = 100 ✅".
  for (int64_t reserved : {0, 3}) {
    Plan at200 = MustPlan(Input(10, 10, 200, reserved));
    EXPECT_EQ(at200.verdict, Verdict::kOk) << reserved;
    EXPECT_EQ(at200.raise_max_connections.additional_connections, 0);
  }
  // 200 is comfortable; the least that fits is 125 (+3 reserved).
  Plan guide = MustPlan(Input(10, 10, 100, 0));
  EXPECT_EQ(guide.raise_max_connections.max_connections, 125);
  EXPECT_EQ(MustPlan(Input(10, 10, 125, 0)).verdict, Verdict::kOk);
  EXPECT_EQ(MustPlan(Input(10, 10, 124, 0)).verdict, Verdict::kOverHeadroom);
  Plan real = MustPlan(Input(10, 10, 100, 3));
  const RaiseMaxConnectionsOption& raise = real.raise_max_connections;
  EXPECT_EQ(raise.max_connections, 128);
  EXPECT_EQ(raise.additional_connections, 28);
  EXPECT_EQ(raise.additional_memory_bytes, 280 * kMb);
  EXPECT_EQ(raise.total_memory_bytes, 1280 * kMb);
  EXPECT_FALSE(raise.beyond_postgres_limit);
  EXPECT_EQ(MustPlan(Input(10, 10, 128, 3)).verdict, Verdict::kOk);
  EXPECT_EQ(MustPlan(Input(10, 10, 127, 3)).verdict, Verdict::kOverHeadroom);
}

TEST(PlannerTest, GuideMemoryPerConnection) {
  // "Each connection uses ~10MB of memory; 200 connections ≈ 2GB".
  EXPECT_EQ(ServerMemoryBytes(200, kDefaultMemoryPerConnection), 2000 * kMb);
  EXPECT_EQ(FormatMemory(2000 * kMb), "2000 MB");
  // Going from the default 100 to the guide's 200: 1000 MB more.
  EXPECT_EQ(ServerMemoryBytes(200 - 100, kDefaultMemoryPerConnection),
            1000 * kMb);
}

TEST(PlannerTest, GuideOptionThreePgBouncer) {
  // "PgBouncer pool_size=25, workers use DB_POOL_MAX=5. Total to PostgreSQL:
  // 25 connections ✅ Workers happy with 10 × 5 = 50 logical connections".
  PlanInput in = Input(10, 10, 100, 3);
  in.pgbouncer_pool_max = 5;
  Plan p = MustPlan(in);
  const PgBouncerOption& b = p.use_pgbouncer;
  EXPECT_EQ(b.pool_size, 25);
  EXPECT_EQ(b.server_connections, 25);
  EXPECT_EQ(b.verdict, Verdict::kOk);
  EXPECT_DOUBLE_EQ(b.utilization_ratio, 25.0 / 97);
  EXPECT_EQ(b.client_pool_max, 5);
  EXPECT_EQ(b.logical_connections, 50);
  EXPECT_EQ(b.max_client_conn, 1000);
  EXPECT_TRUE(b.logical_fit);
  EXPECT_TRUE(b.recommended);  // "Recommended for 10+ workers"

  // Without --pgbouncer-pool-max the workers keep their pools.
  Plan keep = MustPlan(Input(10, 10, 100, 3));
  EXPECT_EQ(keep.use_pgbouncer.logical_connections, 100);
  EXPECT_EQ(keep.use_pgbouncer.server_connections, 25);
}

TEST(PlannerTest, PgBouncerServerConnectionsAndOverhead) {
  struct Case {
    std::string name;
    int64_t workers, pool_max, overhead, pool_size, max_client_conn;
    int64_t want_server, want_logical;
    Verdict want_verdict;
    bool want_logical_fit, want_recommended;
  };
  const std::vector<Case> cases = {
      {"overhead connects directly", 20, 10, 15, 25, 1000, 40, 200,
       Verdict::kOk, true, true},
      {"fewer clients than the pool", 1, 10, 0, 25, 1000, 10, 10, Verdict::kOk,
       true, false},
      {"nine workers: not yet recommended", 9, 10, 0, 25, 1000, 25, 90,
       Verdict::kOk, true, false},
      {"server pool over the headroom", 50, 10, 0, 80, 1000, 80, 500,
       Verdict::kOverHeadroom, true, true},
      {"more logical connections than max_client_conn", 200, 10, 0, 25, 1000,
       25, 2000, Verdict::kOk, false, true},
      {"logical connections exactly max_client_conn", 100, 10, 0, 25, 1000, 25,
       1000, Verdict::kOk, true, true},
  };
  for (const Case& c : cases) {
    PlanInput in = Input(c.workers, c.pool_max, 100, 3, c.overhead);
    in.pgbouncer_pool_size = c.pool_size;
    in.pgbouncer_max_client_conn = c.max_client_conn;
    const PgBouncerOption b = MustPlan(in).use_pgbouncer;
    EXPECT_EQ(b.server_connections, c.want_server) << c.name;
    EXPECT_EQ(b.logical_connections, c.want_logical) << c.name;
    EXPECT_EQ(b.verdict, c.want_verdict) << c.name;
    EXPECT_EQ(b.logical_fit, c.want_logical_fit) << c.name;
    EXPECT_EQ(b.recommended, c.want_recommended) << c.name;
  }
}

TEST(PlannerTest, ReducePoolMaxCases) {
  struct Case {
    std::string name;
    int64_t workers, overhead, max_connections, reserved;
    std::optional<int64_t> want;
  };
  const std::vector<Case> cases = {
      {"room for exactly one per worker", 77, 0, 100, 3, 1},
      {"one worker too many", 78, 0, 100, 3, std::nullopt},
      {"overhead takes the headroom", 1, 77, 100, 3, std::nullopt},
      {"overhead leaves one", 1, 76, 100, 3, 1},
      {"overhead 20, 10 workers", 10, 20, 100, 3, 5},
      {"growing room", 2, 0, 500, 3, 198},
  };
  for (const Case& c : cases) {
    const Plan p = MustPlan(
        Input(c.workers, 1, c.max_connections, c.reserved, c.overhead));
    EXPECT_EQ(p.reduce_pool_max.pool_max, c.want) << c.name;
    if (c.want) {
      EXPECT_EQ(p.reduce_pool_max.total_connections,
                c.workers * *c.want + c.overhead)
          << c.name;
      EXPECT_LE(p.reduce_pool_max.total_connections, p.headroom_connections)
          << c.name;
      // One more per worker no longer fits.
      EXPECT_GT(c.workers * (*c.want + 1) + c.overhead, p.headroom_connections)
          << c.name;
    }
  }
}

TEST(PlannerTest, MinConnectionsAndBeyondPostgresLimit) {
  PlanInput in = Input(100000, 100000, 100, 3);
  in.pool_min = 2;
  const Plan p = MustPlan(in);
  EXPECT_EQ(p.min_connections, 200000);
  EXPECT_EQ(p.total_connections, 10'000'000'000);
  EXPECT_TRUE(p.raise_max_connections.beyond_postgres_limit);
  EXPECT_EQ(p.raise_max_connections.max_connections, 12'500'000'003);
}

TEST(PlannerTest, RejectsBadInput) {
  struct Case {
    std::string name;
    PlanInput in;
    std::string want;
  };
  auto with = [](auto change) {
    PlanInput in;
    change(in);
    return in;
  };
  const std::vector<Case> cases = {
      {"no workers", with([](PlanInput& i) { i.workers = 0; }),
       "--workers 0 is outside [1, 100000]"},
      {"zero pool", with([](PlanInput& i) { i.pool_max = 0; }),
       "--pool-max 0 is outside [1, 100000]"},
      {"min above max", with([](PlanInput& i) { i.pool_min = 11; }),
       "--pool-min 11 is larger than --pool-max 10"},
      {"negative overhead", with([](PlanInput& i) { i.overhead = -1; }),
       "--overhead -1 is outside [0, 1000000]"},
      {"max_connections too big",
       with([](PlanInput& i) { i.max_connections = 262144; }),
       "--max-connections 262144 is outside [1, 262143]"},
      {"reserved eats everything", with([](PlanInput& i) { i.reserved = 100; }),
       "--reserved 100 must be at least 0 and less than max_connections 100"},
      {"headroom 0", with([](PlanInput& i) { i.headroom = 0; }),
       "--headroom 0 is outside (0, 1]"},
      {"headroom above 1", with([](PlanInput& i) { i.headroom = 1.5; }),
       "--headroom 1.5 is outside (0, 1]"},
      {"no memory",
       with([](PlanInput& i) { i.memory_per_connection_bytes = 0; }),
       "--memory-per-connection must be between 1B and 1TB"},
      {"pgbouncer pool 0",
       with([](PlanInput& i) { i.pgbouncer_pool_size = 0; }),
       "--pgbouncer-pool-size 0 is outside [1, 100000]"},
      {"pgbouncer client pool 0",
       with([](PlanInput& i) { i.pgbouncer_pool_max = 0; }),
       "--pgbouncer-pool-max 0 is outside [1, 100000]"},
      {"max_client_conn 0",
       with([](PlanInput& i) { i.pgbouncer_max_client_conn = 0; }),
       "--pgbouncer-max-client-conn 0 is outside [1, 10000000]"},
  };
  for (const Case& c : cases) {
    auto p = MakePlan(c.in);
    ASSERT_FALSE(p.ok()) << c.name;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(p.status().message().find(c.want), std::string::npos)
        << c.name << ": " << p.status().message();
  }
}

TEST(PlannerTest, ParsesWorkerCounts) {
  struct Case {
    std::string spec;
    std::vector<int64_t> want;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"1,5,10,20", {1, 5, 10, 20}, ""},
      {"1-4", {1, 2, 3, 4}, ""},
      {"10,1-3,2", {1, 2, 3, 10}, ""},
      {"7", {7}, ""},
      {"", {}, "\"\" is not a whole number"},
      {"1,,2", {}, "\"\" is not a whole number"},
      {"a", {}, "\"a\" is not a whole number"},
      {"0", {}, "worker count 0 is outside [1, 100000]"},
      {"5-3", {}, "range 5-3 goes downwards"},
      {"1-2000", {}, "more than 1000 rows"},
      {"1-1000", {}, ""},
      {"-3", {}, "\"\" is not a whole number"},
  };
  for (const Case& c : cases) {
    auto r = ParseWorkerCounts(c.spec);
    if (c.error.empty()) {
      ASSERT_TRUE(r.ok()) << c.spec << ": " << r.status().message();
      if (c.spec == "1-1000") {
        EXPECT_EQ(r->size(), 1000u);
      } else {
        EXPECT_EQ(*r, c.want) << c.spec;
      }
    } else {
      ASSERT_FALSE(r.ok()) << c.spec;
      EXPECT_NE(r.status().message().find(c.error), std::string::npos)
          << c.spec << ": " << r.status().message();
    }
  }
}

TEST(PlannerTest, ParsesMemorySizes) {
  struct Case {
    std::string text;
    int64_t want;  // 0: an error
  };
  const std::vector<Case> cases = {
      {"10MB", 10 * kMb},
      {"10 MB", 10 * kMb},
      {"512kB", 512 * 1024},
      {"1GB", 1024 * kMb},
      {"1.5MB", 3 * kMb / 2},
      {"100B", 100},
      {"1tb", 1LL << 40},
      {"10", 0},
      {"MB", 0},
      {"10XB", 0},
      {"-1MB", 0},
      {"0MB", 0},
      {"2TB", 0},
  };
  for (const Case& c : cases) {
    auto r = ParseMemorySize(c.text);
    if (c.want == 0) {
      EXPECT_FALSE(r.ok()) << c.text;
    } else {
      ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().message();
      EXPECT_EQ(*r, c.want) << c.text;
    }
  }
}

TEST(PlannerTest, FormatsMemory) {
  EXPECT_EQ(FormatMemory(280 * kMb), "280 MB");
  EXPECT_EQ(FormatMemory(512 * 1024), "512 kB");
  EXPECT_EQ(FormatMemory(100), "100 B");
  EXPECT_EQ(FormatMemory(10240 * kMb), "10.0 GB");
  EXPECT_EQ(FormatMemory(0), "0 B");
}

}  // namespace
}  // namespace pgconn
