// The right-sizing rule and the assessment of a target (issue 20): the
// rule's rounding, the margin, censoring at saturation, zero replicas,
// missing data, too little history, the budget verdict and the forecast.
#include "plan/rightsizing.h"

#include <gtest/gtest.h>

#include "plan/time_text.h"

namespace pgconn {
namespace {

struct RuleCase {
  std::string name;
  PoolRuleInput in;
  int64_t want_max, want_min;
};

PoolRuleInput Rule(int64_t replicas, int64_t pool_max, int64_t pool_min,
                   double peak, std::optional<double> median, bool saturated,
                   double margin) {
  PoolRuleInput in;
  in.replicas = replicas;
  in.pool_max = pool_max;
  in.pool_min = pool_min;
  in.busy_peak = peak;
  in.busy_median = median;
  in.saturated = saturated;
  in.margin = margin;
  return in;
}

TEST(PoolRuleTest, Table) {
  const std::vector<RuleCase> cases = {
      // The guide's fleet: 10 workers never use more than 3 of their 10.
      {"peak 30 over 10 workers, 25 %", Rule(10, 10, 2, 30, 8, false, 0.25), 4,
       1},
      // ceil(31 / 10 × 1.25) = ceil(3.875) = 4; median 8.5 → ceil(0.85) = 1.
      {"fractions round up", Rule(10, 10, 2, 31, 8.5, false, 0.25), 4, 1},
      // Exactly on an integer: 8 / 2 × 1.25 = 5, not 6.
      {"an exact product is not rounded up", Rule(2, 10, 0, 8, 0, false, 0.25),
       5, 0},
      // 10 × 1.1 is 11.000000000000002 in binary floating point: still 11.
      {"margin 0.1 is exact", Rule(1, 20, 0, 10, 0, false, 0.1), 11, 0},
      {"margin 0.3 × 10 is exact", Rule(1, 20, 0, 10, 0, false, 0.3), 13, 0},
      {"margin 0", Rule(4, 10, 0, 12, 0, false, 0), 3, 0},
      {"margin 1 doubles", Rule(4, 10, 0, 12, 0, false, 1), 6, 0},
      // Nothing busy: at least 1.
      {"idle pools keep 1", Rule(5, 10, 2, 0, 0, false, 0.25), 1, 0},
      // Saturated: the peak is censored; grow by the margin, at least 1.
      {"saturated grows by the margin", Rule(2, 10, 2, 20, 12, true, 0.25), 13,
       6},
      {"saturated grows by 1 at least", Rule(1, 2, 0, 2, 1, true, 0.25), 3, 1},
      {"saturated with margin 0 grows by 1", Rule(3, 4, 0, 12, 0, true, 0), 5,
       0},
      // The minimum never exceeds the maximum.
      {"min capped at max", Rule(1, 10, 0, 2, 6, false, 0), 2, 2},
      // No median: DB_POOL_MIN kept, capped at the new maximum.
      {"no median keeps the min", Rule(2, 10, 3, 8, std::nullopt, false, 0.25),
       5, 3},
      {"no median, min capped", Rule(2, 10, 8, 8, std::nullopt, false, 0.25), 5,
       5},
  };
  for (const RuleCase& c : cases) {
    const PoolRuleResult r = ApplyPoolRule(c.in);
    EXPECT_EQ(r.pool_max, c.want_max) << c.name;
    EXPECT_EQ(r.pool_min, c.want_min) << c.name;
  }
}

constexpr double kEnd = 1'765'116'000;  // 2025-12-07T14:00:00Z
constexpr double kWeek = 7 * 86400;

ApplicationEvidence App(std::string name, int64_t replicas, int64_t pool_max,
                        int64_t pool_min, std::optional<double> peak,
                        std::optional<double> median, double saturated) {
  ApplicationEvidence a;
  a.application = std::move(name);
  a.replicas = a.replicas_min = a.replicas_max = replicas;
  a.pool_max = pool_max;
  a.pool_min = pool_min;
  a.busy_peak = peak;
  a.busy_median = median;
  a.saturated_seconds = saturated;
  a.busy_samples = peak ? 40320 : 0;
  a.first_sample_unix = kEnd - kWeek + 15;
  a.last_sample_unix = kEnd - 10;
  return a;
}

// A week of complete history: 100 max_connections, 3 reserved, overhead 10.
TargetEvidence Week(std::vector<ApplicationEvidence> apps) {
  TargetEvidence e;
  e.target = "main";
  e.max_connections = 100;
  e.reserved = 3;
  e.usable = 97;
  e.near_limit_threshold = 0.8;
  e.overhead = 10;
  e.peak_window_seconds = 60;
  e.first_sample_unix = kEnd - kWeek + 15;
  e.last_sample_unix = kEnd - 10;
  e.up_ratio = 1;
  e.scrape_up_ratio = 1;
  e.used_slope_per_second = 0;
  e.used_line_at_end = 40;
  e.applications = std::move(apps);
  return e;
}

RightSizingSettings Settings() {
  RightSizingSettings s;
  s.end_unix = kEnd;
  s.window_seconds = kWeek;
  return s;
}

TEST(AssessTargetTest, TheGuidesFleetFitsAfterRightSizing) {
  // 10 workers × DB_POOL_MAX 10 + 10 + 1 agent = 111 > 97: over_limit as
  // declared; the workers never had more than 30 busy: 10 × 4 + 11 = 51.
  auto t = AssessTarget(Week({App("worker", 10, 10, 2, 30, 8, 0)}), Settings());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->declared_total, 111);
  EXPECT_EQ(t->declared_verdict, Verdict::kOverLimit);
  EXPECT_EQ(t->recommended_total, 51);
  EXPECT_EQ(t->verdict, Verdict::kOk);
  EXPECT_EQ(t->headroom_connections, 77);
  ASSERT_EQ(t->applications.size(), 1u);
  EXPECT_EQ(t->applications[0].recommended_pool_max, 4);
  EXPECT_EQ(t->applications[0].recommended_pool_min, 1);
  EXPECT_FALSE(t->applications[0].saturated);
  EXPECT_TRUE(t->evidence_complete);
  EXPECT_FALSE(t->options.has_value());
  EXPECT_FALSE(t->exhaustion_eta_seconds.has_value());
}

TEST(AssessTargetTest, SaturationCensorsThePeak) {
  auto t = AssessTarget(Week({App("bot", 1, 5, 1, 5, 2, 870)}), Settings());
  ASSERT_TRUE(t.ok());
  const ApplicationRightSizing& a = t->applications[0];
  EXPECT_TRUE(a.saturated);
  EXPECT_EQ(a.saturated_seconds, 870);
  EXPECT_EQ(a.recommended_pool_max, 7);  // max(6, ceil(6.25))
  EXPECT_EQ(a.recommended_pool_min, 2);
  // A peak at capacity is saturation too, even without counted seconds.
  auto u = AssessTarget(Week({App("bot", 2, 3, 0, 6, 1, 0)}), Settings());
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->applications[0].saturated);
  EXPECT_EQ(u->applications[0].recommended_pool_max, 4);
}

TEST(AssessTargetTest, ZeroReplicasAreListedAndSkipped) {
  auto t = AssessTarget(
      Week({App("batch", 0, 10, 0, 3, 1, 0), App("worker", 2, 5, 0, 4, 1, 0)}),
      Settings());
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->applications.size(), 2u);
  EXPECT_EQ(t->applications[0].state, SizingState::kZeroReplicas);
  EXPECT_FALSE(t->applications[0].rule.has_value());
  EXPECT_EQ(t->applications[0].recommended_pool_max, 10);
  // 0 × 10 + 2 × 3 + 11.
  EXPECT_EQ(t->recommended_total, 17);
}

TEST(AssessTargetTest, AnApplicationWithoutSamplesKeepsItsDeclaration) {
  auto t = AssessTarget(
      Week({App("worker", 4, 10, 2, std::nullopt, std::nullopt, 0)}),
      Settings());
  ASSERT_TRUE(t.ok());
  const ApplicationRightSizing& a = t->applications[0];
  EXPECT_EQ(a.state, SizingState::kNoSamples);
  EXPECT_EQ(a.recommended_pool_max, 10);
  EXPECT_EQ(a.recommended_pool_min, 2);
  EXPECT_FALSE(t->evidence_complete);
  EXPECT_EQ(t->recommended_total, 51);
}

TEST(AssessTargetTest, AnOlderAgentWithoutPoolSizesKeepsTheDeclaration) {
  TargetEvidence e = Week({App("worker", 4, 10, 2, 6, 2, 0)});
  e.applications[0].pool_max.reset();
  auto t = AssessTarget(e, Settings());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->applications[0].state, SizingState::kNoSamples);
  EXPECT_FALSE(t->applications[0].saturated);
  EXPECT_FALSE(t->evidence_complete);
  ASSERT_EQ(t->notes.size(), 1u);
  EXPECT_NE(t->notes[0].find("DB_POOL_MAX unknown"), std::string::npos);
}

TEST(AssessTargetTest, TooLittleHistoryLowersNothing) {
  // The data starts two days into the week.
  TargetEvidence e = Week({App("worker", 10, 10, 2, 30, 8, 0)});
  e.first_sample_unix = kEnd - 5 * 86400;
  auto t = AssessTarget(e, Settings());
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->evidence_complete);
  ASSERT_EQ(t->insufficient.size(), 1u);
  EXPECT_NE(t->insufficient[0].find("2d after the window's start"),
            std::string::npos)
      << t->insufficient[0];
  const ApplicationRightSizing& a = t->applications[0];
  EXPECT_TRUE(a.held_back);
  EXPECT_EQ(a.rule->pool_max, 4);
  EXPECT_EQ(a.recommended_pool_max, 10);
  EXPECT_EQ(a.recommended_pool_min, 2);

  // Down most of the window.
  TargetEvidence down = Week({App("worker", 10, 10, 2, 30, 8, 0)});
  down.up_ratio = 0.4;
  auto d = AssessTarget(down, Settings());
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->insufficient.size(), 1u);
  EXPECT_NE(d->insufficient[0].find("40.0 %"), std::string::npos);
  EXPECT_EQ(d->applications[0].recommended_pool_max, 10);

  // Scrapes failing, and the last sample long before the end.
  TargetEvidence gaps = Week({App("worker", 10, 10, 2, 30, 8, 0)});
  gaps.scrape_up_ratio = 0.5;
  gaps.last_sample_unix = kEnd - 86400;
  auto g = AssessTarget(gaps, Settings());
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->insufficient.size(), 2u);

  // Raising is never held back: a saturated pool grows even so.
  TargetEvidence short_sat = Week({App("bot", 1, 5, 1, 5, 2, 60)});
  short_sat.first_sample_unix = kEnd - 86400;
  auto s = AssessTarget(short_sat, Settings());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->applications[0].recommended_pool_max, 7);
  EXPECT_FALSE(s->applications[0].held_back);

  // An application declared only recently.
  TargetEvidence late_app = Week({App("worker", 10, 10, 2, 30, 8, 0)});
  late_app.applications[0].first_sample_unix = kEnd - 3600;
  auto l = AssessTarget(late_app, Settings());
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->insufficient.empty());
  EXPECT_EQ(l->applications[0].insufficient.size(), 1u);
  EXPECT_EQ(l->applications[0].recommended_pool_max, 10);
  EXPECT_FALSE(l->evidence_complete);
}

TEST(AssessTargetTest, AnApplicationNoLongerDeclaredIsLeftOut) {
  TargetEvidence e =
      Week({App("old", 2, 5, 0, 4, 1, 0), App("worker", 2, 5, 0, 4, 1, 0)});
  e.applications[0].last_sample_unix = kEnd - 86400;
  auto t = AssessTarget(e, Settings());
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->applications.size(), 1u);
  EXPECT_EQ(t->applications[0].evidence.application, "worker");
  ASSERT_EQ(t->notes.size(), 1u);
}

TEST(AssessTargetTest, OptionsWhenTheRecommendationDoesNotFit) {
  // 30 workers busy up to 90 together, 10 usable above that... 100
  // max_connections: 30 × ceil(3 × 1.25) = 120 + 11 > 97.
  auto t = AssessTarget(Week({App("worker", 30, 5, 0, 90, 30, 0)}), Settings());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->recommended_total, 131);
  EXPECT_EQ(t->verdict, Verdict::kOverLimit);
  ASSERT_TRUE(t->options.has_value());
  // PgBouncer sized from the summed busy peaks with the margin: 113.
  EXPECT_EQ(t->pgbouncer_pool_size, 113);
  EXPECT_EQ(t->options->use_pgbouncer.pool_size, 113);
  // The least max_connections: ceil(131 / 0.8) + 3 = 167.
  EXPECT_EQ(t->options->raise_max_connections.max_connections, 167);
  ASSERT_EQ(t->reduce.size(), 1u);
  // (77 - 11) / 30 = 2, below the busy peak of 3 per worker.
  EXPECT_EQ(t->reduce[0].pool_max, 2);
  EXPECT_EQ(t->reduce[0].busy_peak_per_worker, 3);
}

TEST(AssessTargetTest, OverridesReplaceWhatTheHistorySays) {
  RightSizingSettings s = Settings();
  s.max_connections = 200;
  s.reserved = 0;
  s.headroom = 0.5;
  s.overhead = 20;
  s.monitoring_agents = 2;
  auto t = AssessTarget(Week({App("worker", 10, 10, 2, 30, 8, 0)}), s);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->usable, 200);
  EXPECT_EQ(t->headroom_connections, 100);
  EXPECT_EQ(t->recommended_total, 62);
}

TEST(AssessTargetTest, TimeToExhaustionFromTheLine) {
  TargetEvidence e = Week({App("worker", 10, 10, 2, 30, 8, 0)});
  // The line is at 61 at the end and rises 1 connection an hour: 97 is 36 h
  // away.
  e.used_slope_per_second = 1.0 / 3600;
  e.used_line_at_end = 61;
  auto t = AssessTarget(e, Settings());
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->exhaustion_eta_seconds.has_value());
  EXPECT_NEAR(*t->exhaustion_eta_seconds, 36 * 3600, 1e-6);
  // Already above: 0. Falling or flat: none.
  e.used_line_at_end = 120;
  EXPECT_EQ(*AssessTarget(e, Settings())->exhaustion_eta_seconds, 0);
  e.used_slope_per_second = -0.001;
  EXPECT_FALSE(AssessTarget(e, Settings())->exhaustion_eta_seconds);
  e.used_slope_per_second = 0;
  EXPECT_FALSE(AssessTarget(e, Settings())->exhaustion_eta_seconds);
}

TEST(AssessTargetTest, NoLimitsInTheWindowIsBadInput) {
  TargetEvidence e = Week({App("worker", 10, 10, 2, 30, 8, 0)});
  e.max_connections.reset();
  auto t = AssessTarget(e, Settings());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("target main"), std::string::npos);
  RightSizingSettings s = Settings();
  s.max_connections = 100;
  EXPECT_TRUE(AssessTarget(e, s).ok());
}

TEST(TimeTextTest, ParsesAndFormats) {
  EXPECT_EQ(*ParseTimeText("1765116000"), 1765116000);
  EXPECT_EQ(*ParseTimeText("1765116000.5"), 1765116000.5);
  EXPECT_EQ(*ParseTimeText("2025-12-07T14:00:00Z"), 1765116000);
  EXPECT_EQ(*ParseTimeText("2025-12-07T15:30:00+01:30"), 1765116000);
  EXPECT_EQ(*ParseTimeText("2025-12-07T14:00:00.250Z"), 1765116000.25);
  for (const char* bad : {"", "yesterday", "2025-12-07", "2025-12-07T14:00:00",
                          "2025-13-07T14:00:00Z", "2025-02-30T14:00:00Z", "-5",
                          "2025-12-07T14:00:00+1:00"}) {
    EXPECT_FALSE(ParseTimeText(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatRfc3339(1765116000), "2025-12-07T14:00:00Z");
  EXPECT_EQ(FormatRfc3339(1765116000.25), "2025-12-07T14:00:00.250Z");
  EXPECT_EQ(HumanDuration(7 * 86400), "7d");
  EXPECT_EQ(HumanDuration(9000), "2h 30m");
  EXPECT_EQ(HumanDuration(45), "45 s");
  EXPECT_EQ(HumanDuration(1.5), "1.5 s");
  EXPECT_EQ(HumanDuration(870), "14m 30s");
}

}  // namespace
}  // namespace pgconn
