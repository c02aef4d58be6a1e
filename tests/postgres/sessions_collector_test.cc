// The sessions collector (pg_stat_database session counters) on canned rows.
#include <gtest/gtest.h>

#include "collect/collector.h"
#include "expose/exposition_part.h"
#include "fakes/canned_postgres.h"
#include "postgres/registry.h"

namespace pgconn {
namespace {

std::unique_ptr<Collector> Sessions() {
  const CollectorEntry* e =
      FindCollectorEntry(PostgresCollectors(), "sessions");
  EXPECT_NE(e, nullptr);
  EXPECT_TRUE(e->enabled_by_default);
  return e->create();
}

ResultSet Canned() { return CannedFixtureAnswers().at("sessions"); }

std::string Emitted(const ResultSet& rs) {
  auto c = Sessions();
  auto parsed = c->Parse(rs);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  if (!parsed.ok()) return "";
  MetricsWriter w;
  c->Emit(**parsed, {{"target", "t"}}, &w);
  return AssembleText({std::make_shared<const ExpositionPart>(w.TakePart())});
}

TEST(SessionsCollectorTest, OnlyFromPostgres14) {
  auto c = Sessions();
  EXPECT_FALSE(c->Supports(130012));
  EXPECT_TRUE(c->Supports(140000));
  EXPECT_TRUE(c->Supports(170002));
}

TEST(SessionsCollectorTest, StatementFoldsBeyondMaxDatabases) {
  CollectorContext ctx;
  ctx.max_databases = 7;
  const std::string sql = Sessions()->Statement(ctx);
  EXPECT_NE(sql.find("ORDER BY s.sessions DESC, s.datname) <= 7 "),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("WHERE d.datallowconn"), std::string::npos);
  EXPECT_NE(sql.find("sum(idle_in_transaction_time)"), std::string::npos);
}

TEST(SessionsCollectorTest, CountersPerDatabaseInSeconds) {
  const std::string text = Emitted(Canned());
  for (const char* line : {
           "pgconn_database_sessions_total{target=\"t\",database=\"app\"} "
           "12000\n",
           "pgconn_database_sessions_total{target=\"t\",database=\"(other)\"} "
           "9\n",
           "pgconn_database_sessions_abandoned_total{target=\"t\","
           "database=\"app\"} 40\n",
           "pgconn_database_sessions_fatal_total{target=\"t\","
           "database=\"app\"} 3\n",
           "pgconn_database_sessions_killed_total{target=\"t\","
           "database=\"postgres\"} 1\n",
           // 86,400,000 ms: one day.
           "pgconn_database_session_seconds_total{target=\"t\","
           "database=\"app\"} 86400\n",
           "pgconn_database_active_seconds_total{target=\"t\","
           "database=\"app\"} 3600.0005\n",
           "pgconn_database_idle_in_transaction_seconds_total{target=\"t\","
           "database=\"(other)\"} 0.25\n",
           "# TYPE pgconn_database_sessions_total counter\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  // Sorted by database name: "(other)" < "app" < "postgres".
  EXPECT_LT(text.find("database=\"(other)\"} 9"),
            text.find("database=\"app\"} 12000"));
}

TEST(SessionsCollectorTest, NoDatabaseNoSeries) {
  ResultSet empty = Canned();
  const std::string text = Emitted(ResultSet(empty.columns(), {}));
  EXPECT_EQ(text, "");
}

TEST(SessionsCollectorTest, RefusesMalformedAnswers) {
  ResultSet missing({"name", "sessions"},
                    {{std::string("app"), std::string("1")}});
  auto r = Sessions()->Parse(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "sessions: missing column sessions_abandoned");

  ResultSet bad = Canned();
  ResultSet::Row row = bad.rows()[0];
  row[1] = std::string("many");
  ResultSet one(bad.columns(), {row});
  r = Sessions()->Parse(one);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "sessions: column \"sessions\": \"many\" is not a number");
}

}  // namespace
}  // namespace pgconn
