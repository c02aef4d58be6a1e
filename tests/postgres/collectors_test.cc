#include <gtest/gtest.h>

#include <set>

#include "collect/collector.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_session.h"
#include "postgres/registry.h"

namespace pgconn {
namespace {

using Row = ResultSet::Row;

std::optional<std::string> S(const char* s) { return std::string(s); }
const std::optional<std::string> kNull = std::nullopt;

TEST(SettingsCollectorTest, ParsesPostgres15And16Settings) {
  auto c = NewSettingsCollector();
  Snapshot snap;
  ResultSet pg15({"server_version_num", "max_connections",
                  "superuser_reserved_connections", "reserved_connections"},
                 {{S("150020"), S("100"), S("3"), kNull}});
  ASSERT_TRUE(c->Parse(pg15, &snap).ok());
  EXPECT_EQ(snap.postgres.server_version_num, 150020);
  EXPECT_EQ(snap.postgres.limits.max_connections, 100);
  EXPECT_EQ(snap.postgres.limits.superuser_reserved_connections, 3);
  EXPECT_EQ(snap.postgres.limits.reserved_connections, 0);
  EXPECT_FALSE(snap.postgres.limits.has_reserved_connections);
  EXPECT_TRUE(snap.postgres.has_limits);

  ResultSet pg16({"server_version_num", "max_connections",
                  "superuser_reserved_connections", "reserved_connections"},
                 {{S("160004"), S("200"), S("3"), S("5")}});
  ASSERT_TRUE(c->Parse(pg16, &snap).ok());
  EXPECT_EQ(snap.postgres.limits.reserved_connections, 5);
  EXPECT_TRUE(snap.postgres.limits.has_reserved_connections);
}

TEST(SettingsCollectorTest, RejectsMalformedRows) {
  auto c = NewSettingsCollector();
  Snapshot snap;
  EXPECT_FALSE(c->Parse(ResultSet({"max_connections"}, {}), &snap).ok());
  ResultSet bad({"server_version_num", "max_connections",
                 "superuser_reserved_connections"},
                {{S("150000"), S("lots"), S("3")}});
  Status s = c->Parse(bad, &snap);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.message(),
      "settings: column \"max_connections\": \"lots\" is not a whole number");
  EXPECT_FALSE(snap.postgres.has_limits);
}

ResultSet ActivityRows(std::vector<Row> rows) {
  return ResultSet(
      {"application", "state", "connections", "lock_waiting",
       "oldest_state_seconds", "oldest_transaction_seconds", "client_addresses",
       "per_application", "folded_applications"},
      std::move(rows));
}

TEST(ActivityCollectorTest, MapsUnsetAndFoldedApplications) {
  auto c = NewActivityCollector();
  Snapshot snap;
  ResultSet rs = ActivityRows({
      {S("worker"), S("idle"), S("8"), S("0"), S("12.5"), S("0"), S("3"),
       S("0"), S("2")},
      {S("worker"), S("active"), S("2"), S("1"), S("0.25"), S("0.3"), S("2"),
       S("0"), S("2")},
      {S("worker"), kNull, S("10"), S("1"), S("12.5"), S("0.3"), S("3"), S("1"),
       S("2")},
      {S(""), S("idle in transaction"), S("1"), S("0"), S("30"), S("31"),
       S("1"), S("0"), S("2")},
      {S(""), kNull, S("1"), S("0"), S("30"), S("31"), S("1"), S("1"), S("2")},
      {kNull, S("unknown"), S("4"), S("0"), S("0"), S("0"), S("0"), S("0"),
       S("2")},
      {kNull, kNull, S("4"), S("0"), S("0"), S("0"), S("0"), S("1"), S("2")},
  });
  ASSERT_TRUE(c->Parse(rs, &snap).ok());
  const PostgresData& pg = snap.postgres;
  ASSERT_EQ(pg.activity.size(), 4u);
  EXPECT_EQ(pg.activity[0].application, "worker");
  EXPECT_EQ(pg.activity[0].state, "idle");
  EXPECT_EQ(pg.activity[0].connections, 8);
  EXPECT_DOUBLE_EQ(pg.activity[0].oldest_state_seconds, 12.5);
  EXPECT_EQ(pg.activity[1].lock_waiting, 1);
  EXPECT_DOUBLE_EQ(pg.activity[1].oldest_transaction_seconds, 0.3);
  EXPECT_EQ(pg.activity[2].application, "(unset)");
  EXPECT_EQ(pg.activity[3].application, "(other)");
  EXPECT_EQ(pg.activity[3].state, "unknown");
  ASSERT_EQ(pg.applications.size(), 3u);
  EXPECT_EQ(pg.applications[0].application, "worker");
  EXPECT_EQ(pg.applications[0].client_addresses, 3);
  EXPECT_EQ(pg.applications[1].application, "(unset)");
  EXPECT_EQ(pg.applications[2].application, "(other)");
  EXPECT_EQ(pg.folded_applications, 2);
  EXPECT_TRUE(pg.has_activity);
}

TEST(ActivityCollectorTest, EmptyResultMeansNoClients) {
  auto c = NewActivityCollector();
  Snapshot snap;
  ASSERT_TRUE(c->Parse(ActivityRows({}), &snap).ok());
  EXPECT_TRUE(snap.postgres.activity.empty());
  EXPECT_TRUE(snap.postgres.has_activity);
}

TEST(ActivityCollectorTest, StatementCarriesTheFoldLimit) {
  auto c = NewActivityCollector();
  CollectorContext ctx;
  ctx.max_applications = 7;
  const std::string sql = c->Statement(ctx);
  EXPECT_NE(sql.find("ranked.rn <= 7 "), std::string::npos);
  EXPECT_NE(sql.find("rn > 7)"), std::string::npos);
  EXPECT_NE(sql.find("pid <> pg_backend_pid()"), std::string::npos);
  EXPECT_NE(sql.find("backend_type IS NOT DISTINCT FROM 'client backend'"),
            std::string::npos);
}

TEST(ActivityCollectorTest, DeclaredApplicationsAreRankedFirst) {
  auto c = NewActivityCollector();
  CollectorContext ctx;
  EXPECT_EQ(c->Statement(ctx).find("app IN ("), std::string::npos);
  ctx.pinned_applications = {"worker", "it's \\ odd"};
  EXPECT_NE(c->Statement(ctx).find(
                "ORDER BY app IN (E'worker', E'it''s \\\\ odd') DESC, "
                "count(*) DESC, app"),
            std::string::npos)
      << c->Statement(ctx);
}

TEST(LimitedGroupsTest, DatabasesAndUsersKeepLimitsAndFoldTheRest) {
  ResultSet rs({"name", "connection_limit", "connections"},
               {{S("app"), S("-1"), S("40")},
                {S("reports"), S("10"), S("9")},
                {kNull, kNull, S("3")}});
  Snapshot snap;
  ASSERT_TRUE(NewDatabasesCollector()->Parse(rs, &snap).ok());
  ASSERT_EQ(snap.postgres.databases.size(), 3u);
  EXPECT_EQ(snap.postgres.databases[0].name, "app");
  EXPECT_FALSE(snap.postgres.databases[0].limit.has_value());
  EXPECT_EQ(*snap.postgres.databases[1].limit, 10);
  EXPECT_EQ(snap.postgres.databases[2].name, "(other)");
  EXPECT_EQ(snap.postgres.databases[2].connections, 3);
  ASSERT_TRUE(NewUsersCollector()->Parse(rs, &snap).ok());
  EXPECT_EQ(snap.postgres.users.size(), 3u);
  EXPECT_TRUE(snap.postgres.has_users);

  ResultSet bad({"name", "connection_limit", "connections"},
                {{S("app"), S("-1"), S("many")}});
  Status s = NewUsersCollector()->Parse(bad, &snap);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "users: column \"connections\": \"many\" is not a whole number");
}

TEST(BackendsCollectorTest, ParsesTypes) {
  ResultSet rs({"backend_type", "backends"},
               {{S("autovacuum worker"), S("2")}, {kNull, S("1")}});
  Snapshot snap;
  ASSERT_TRUE(NewBackendsCollector()->Parse(rs, &snap).ok());
  ASSERT_EQ(snap.postgres.backends.size(), 2u);
  EXPECT_EQ(snap.postgres.backends[0].backend_type, "autovacuum worker");
  EXPECT_EQ(snap.postgres.backends[0].count, 2);
  EXPECT_EQ(snap.postgres.backends[1].backend_type, "unknown");
}

// A collector that answers with a fixed ResultSet and records parses.
class StubCollector final : public Collector {
 public:
  StubCollector(std::string name, std::string sql)
      : name_(std::move(name)), sql_(std::move(sql)) {}
  std::string_view name() const override { return name_; }
  std::string Statement(const CollectorContext&) const override { return sql_; }
  Status Parse(const ResultSet& rs, Snapshot* out) const override {
    if (rs.columns().empty() || rs.columns()[0] != name_) {
      return Status::InvalidData(name_ + ": wrong result");
    }
    out->postgres.folded_applications += 1;  // count the parses
    return Status::Ok();
  }

 private:
  std::string name_, sql_;
};

ResultSet Clock(double t) {
  return ResultSet({"server_clock"}, {{std::to_string(t)}});
}

TEST(RunCollectorsTest, OneRoundTripWithServerTimedDurations) {
  FakeServer server;
  server.answer = [](std::string_view) -> Result<std::vector<ResultSet>> {
    return std::vector<ResultSet>{Clock(100.0), ResultSet({"a"}, {}),
                                  Clock(100.25), ResultSet({"b"}, {}),
                                  Clock(100.75)};
  };
  FakeSession session(&server);
  ASSERT_TRUE(session.Connect({}).ok());
  StubCollector a("a", "SELECT 1 AS a"), b("b", "SELECT 2 AS b");
  FakeClock clock;
  Snapshot snap;
  Status s = RunCollectors(session, {&a, &b}, CollectorContext{}, RunOptions{},
                           {}, clock, &snap);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(server.queries.size(), 1u);
  EXPECT_NE(server.queries[0].find("SELECT 1 AS a;"), std::string::npos);
  EXPECT_NE(server.queries[0].find("SELECT 2 AS b;"), std::string::npos);
  ASSERT_EQ(snap.collectors.size(), 2u);
  EXPECT_TRUE(snap.collectors[0].success);
  EXPECT_DOUBLE_EQ(snap.collectors[0].duration_seconds, 0.25);
  EXPECT_DOUBLE_EQ(snap.collectors[1].duration_seconds, 0.5);
  EXPECT_EQ(snap.postgres.folded_applications, 2);
}

TEST(RunCollectorsTest, AFailingStatementIsIsolatedAndTheOthersStillCount) {
  FakeServer server;
  server.answer = [](std::string_view sql) -> Result<std::vector<ResultSet>> {
    if (sql.find("broken") != std::string_view::npos) {
      return Status(StatusCode::kQueryFailed,
                    "permission denied for table secret (SQLSTATE 42501)");
    }
    if (sql.find("AS a") != std::string_view::npos) {
      return std::vector<ResultSet>{ResultSet({"a"}, {})};
    }
    return Status(StatusCode::kQueryFailed, "unexpected");
  };
  FakeSession session(&server);
  ASSERT_TRUE(session.Connect({}).ok());
  StubCollector a("a", "SELECT 1 AS a"), b("b", "SELECT broken");
  FakeClock clock;
  Snapshot snap;
  ASSERT_TRUE(RunCollectors(session, {&a, &b}, CollectorContext{}, RunOptions{},
                            {}, clock, &snap)
                  .ok());
  EXPECT_EQ(server.queries.size(), 3u);  // the batch, then each alone
  ASSERT_EQ(snap.collectors.size(), 2u);
  EXPECT_TRUE(snap.collectors[0].success);
  EXPECT_FALSE(snap.collectors[1].success);
  EXPECT_EQ(snap.collectors[1].error,
            "permission denied for table secret (SQLSTATE 42501)");
}

TEST(RunCollectorsTest, ALostConnectionFailsThePoll) {
  FakeServer server;
  server.answer = [](std::string_view) -> Result<std::vector<ResultSet>> {
    return Status(StatusCode::kConnectionLost, "server closed the connection");
  };
  FakeSession session(&server);
  ASSERT_TRUE(session.Connect({}).ok());
  StubCollector a("a", "SELECT 1 AS a"), b("b", "SELECT 2 AS b");
  FakeClock clock;
  Snapshot snap;
  Status s = RunCollectors(session, {&a, &b}, CollectorContext{}, RunOptions{},
                           {}, clock, &snap);
  EXPECT_EQ(s.code(), StatusCode::kConnectionLost);
  EXPECT_EQ(server.queries.size(), 1u);
  EXPECT_FALSE(session.connected());
}

TEST(RunCollectorsTest, UnbatchedRunsOneStatementPerQuery) {
  FakeServer server;
  server.answer = [](std::string_view sql) -> Result<std::vector<ResultSet>> {
    return std::vector<ResultSet>{ResultSet({sql == "SHOW a" ? "a" : "b"}, {})};
  };
  FakeSession session(&server);
  ASSERT_TRUE(session.Connect({}).ok());
  StubCollector a("a", "SHOW a"), b("b", "SHOW b");
  FakeClock clock;
  Snapshot snap;
  RunOptions run;
  run.batch = false;
  ASSERT_TRUE(RunCollectors(session, {&a, &b}, CollectorContext{}, run, {},
                            clock, &snap)
                  .ok());
  ASSERT_EQ(server.queries.size(), 2u);
  EXPECT_EQ(server.queries[0], "SHOW a");
  EXPECT_EQ(server.queries[1], "SHOW b");
  EXPECT_TRUE(snap.collectors[1].success);
}

TEST(CollectorTableTest, ListsEveryPostgresCollectorOnce) {
  std::set<std::string> names;
  for (const auto& e : PostgresCollectors()) {
    auto c = e.create();
    EXPECT_EQ(c->name(), e.name);
    EXPECT_TRUE(names.insert(std::string(e.name)).second);
    EXPECT_EQ(c->Statement(CollectorContext{}).find(';'), std::string::npos)
        << e.name << " statement must be a single statement";
  }
  EXPECT_EQ(names, (std::set<std::string>{"settings", "activity", "databases",
                                          "users", "backends"}));
}

}  // namespace
}  // namespace pgconn
