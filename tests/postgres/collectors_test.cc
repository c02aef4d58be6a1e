#include <gtest/gtest.h>

#include <set>

#include "collect/collector.h"
#include "fakes/canned_postgres.h"
#include "postgres/observations.h"
#include "postgres/registry.h"

namespace pgconn {
namespace {

using Row = ResultSet::Row;

std::optional<std::string> S(const char* s) { return std::string(s); }
const std::optional<std::string> kNull = std::nullopt;

std::unique_ptr<Collector> Make(std::string_view name) {
  const CollectorEntry* e = FindCollectorEntry(PostgresCollectors(), name);
  EXPECT_NE(e, nullptr) << name;
  return e->create();
}

// What collector T::kName makes of `rs`; fails the test on a parse error.
template <typename T>
T ParseAs(const ResultSet& rs) {
  auto parsed = Make(T::kName)->Parse(rs);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  if (!parsed.ok()) return T{};
  const auto* part = dynamic_cast<const Part<T>*>(parsed->get());
  EXPECT_NE(part, nullptr);
  return part == nullptr ? T{} : part->value;
}

Status ParseError(std::string_view name, const ResultSet& rs) {
  auto parsed = Make(name)->Parse(rs);
  return parsed.ok() ? Status::Ok() : parsed.status();
}

TEST(SettingsCollectorTest, ParsesPostgres15And16Settings) {
  ResultSet pg15({"server_version_num", "max_connections",
                  "superuser_reserved_connections", "reserved_connections"},
                 {{S("150020"), S("100"), S("3"), kNull}});
  const ConnectionLimits l15 = ParseAs<ConnectionLimits>(pg15);
  EXPECT_EQ(l15.server_version_num, 150020);
  EXPECT_EQ(l15.max_connections, 100);
  EXPECT_EQ(l15.superuser_reserved_connections, 3);
  EXPECT_EQ(l15.reserved_connections, 0);
  EXPECT_FALSE(l15.has_reserved_connections);

  ResultSet pg16({"server_version_num", "max_connections",
                  "superuser_reserved_connections", "reserved_connections"},
                 {{S("160004"), S("200"), S("3"), S("5")}});
  const ConnectionLimits l16 = ParseAs<ConnectionLimits>(pg16);
  EXPECT_EQ(l16.reserved_connections, 5);
  EXPECT_TRUE(l16.has_reserved_connections);
}

TEST(SettingsCollectorTest, RejectsMalformedRows) {
  EXPECT_FALSE(ParseError("settings", ResultSet({"max_connections"}, {})).ok());
  ResultSet bad({"server_version_num", "max_connections",
                 "superuser_reserved_connections"},
                {{S("150000"), S("lots"), S("3")}});
  Status s = ParseError("settings", bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.message(),
      "settings: column \"max_connections\": \"lots\" is not a whole number");
}

ResultSet ActivityRows(std::vector<Row> rows) {
  return ResultSet(
      {"application", "state", "connections", "lock_waiting",
       "oldest_state_seconds", "oldest_transaction_seconds", "client_addresses",
       "per_application", "folded_applications"},
      std::move(rows));
}

TEST(ActivityCollectorTest, MapsUnsetAndFoldedApplications) {
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
  const Activity pg = ParseAs<Activity>(rs);
  ASSERT_EQ(pg.groups.size(), 4u);
  EXPECT_EQ(pg.groups[0].application, "worker");
  EXPECT_EQ(pg.groups[0].state, "idle");
  EXPECT_EQ(pg.groups[0].connections, 8);
  EXPECT_DOUBLE_EQ(pg.groups[0].oldest_state_seconds, 12.5);
  EXPECT_EQ(pg.groups[1].lock_waiting, 1);
  EXPECT_DOUBLE_EQ(pg.groups[1].oldest_transaction_seconds, 0.3);
  EXPECT_EQ(pg.groups[2].application, "(unset)");
  EXPECT_EQ(pg.groups[3].application, "(other)");
  EXPECT_EQ(pg.groups[3].state, "unknown");
  ASSERT_EQ(pg.applications.size(), 3u);
  EXPECT_EQ(pg.applications[0].application, "worker");
  EXPECT_EQ(pg.applications[0].client_addresses, 3);
  EXPECT_EQ(pg.applications[1].application, "(unset)");
  EXPECT_EQ(pg.applications[2].application, "(other)");
  EXPECT_EQ(pg.folded_applications, 2);
  // Summed up once, at parse time.
  EXPECT_EQ(pg.summary.used, 15);
  EXPECT_EQ(pg.summary.idle, 8);
  EXPECT_EQ(pg.summary.idle_in_transaction, 1);
  EXPECT_EQ(pg.summary.lock_waiting, 1);
  EXPECT_DOUBLE_EQ(
      pg.summary.applications.at("(unset)").oldest_idle_in_transaction_seconds,
      30);
}

TEST(ActivityCollectorTest, EmptyResultMeansNoClients) {
  const Activity a = ParseAs<Activity>(ActivityRows({}));
  EXPECT_TRUE(a.groups.empty());
  EXPECT_EQ(a.summary.used, 0);
}

TEST(ActivityCollectorTest, StatementCarriesTheFoldLimit) {
  auto c = Make("activity");
  CollectorContext ctx;
  ctx.max_applications = 7;
  const std::string sql = c->Statement(ctx);
  // The first 7 applications are kept, the others folded.
  EXPECT_NE(sql.find("LIMIT 7)"), std::string::npos);
  EXPECT_NE(sql.find("AND NOT kept)"), std::string::npos);
  // The agent's own session counts, marked as its own.
  EXPECT_EQ(sql.find("pid <> pg_backend_pid()"), std::string::npos);
  EXPECT_NE(sql.find("FILTER (WHERE pid = pg_backend_pid())"),
            std::string::npos);
  EXPECT_NE(sql.find("backend_type IS NOT DISTINCT FROM 'client backend'"),
            std::string::npos);
}

TEST(ActivityCollectorTest, DeclaredApplicationsAreRankedFirst) {
  auto c = Make("activity");
  CollectorContext ctx;
  EXPECT_EQ(c->Statement(ctx).find("app IN (E'"), std::string::npos);
  ctx.pinned_applications = {"worker", "it's \\ odd"};
  EXPECT_NE(c->Statement(ctx).find(
                "ORDER BY app IN (E'worker', E'it''s \\\\ odd') DESC, "
                "connections DESC, app LIMIT 50)"),
            std::string::npos)
      << c->Statement(ctx);
}

TEST(LimitedGroupsTest, DatabasesAndUsersKeepLimitsAndFoldTheRest) {
  ResultSet rs({"name", "connection_limit", "connections"},
               {{S("app"), S("-1"), S("40")},
                {S("reports"), S("10"), S("9")},
                {kNull, kNull, S("3")}});
  const auto dbs = ParseAs<DatabaseConnections>(rs).groups;
  ASSERT_EQ(dbs.size(), 3u);
  EXPECT_EQ(dbs[0].name, "app");
  EXPECT_FALSE(dbs[0].limit.has_value());
  EXPECT_EQ(*dbs[1].limit, 10);
  EXPECT_EQ(dbs[2].name, "(other)");
  EXPECT_EQ(dbs[2].connections, 3);
  EXPECT_EQ(ParseAs<UserConnections>(rs).groups.size(), 3u);

  ResultSet bad({"name", "connection_limit", "connections"},
                {{S("app"), S("-1"), S("many")}});
  Status s = ParseError("users", bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "users: column \"connections\": \"many\" is not a whole number");
}

TEST(BackendsCollectorTest, ParsesTypes) {
  ResultSet rs({"backend_type", "backends"},
               {{S("autovacuum worker"), S("2")}, {kNull, S("1")}});
  const auto b = ParseAs<OtherBackends>(rs).backends;
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].backend_type, "autovacuum worker");
  EXPECT_EQ(b[0].count, 2);
  EXPECT_EQ(b[1].backend_type, "unknown");
}

TEST(CollectorTableTest, ListsEveryPostgresCollectorOnce) {
  std::set<std::string> names;
  for (const auto& e : PostgresCollectors()) {
    auto c = e.create();
    EXPECT_EQ(c->name(), e.name);
    EXPECT_TRUE(names.insert(std::string(e.name)).second);
    EXPECT_EQ(c->Statement(CollectorContext{}).find(';'), std::string::npos)
        << e.name << " statement must be a single statement";
    EXPECT_FALSE(e.help.empty()) << e.name;
  }
  EXPECT_GE(names.size(), 5u);
  // The fake server can answer every collector, so adding one needs its
  // canned answer (tests/fixtures/postgres/canned/NAME.tsv) and nothing else.
  const CannedAnswers canned = CannedPostgresAnswers(100, 1, 1);
  for (const std::string& n : names) {
    EXPECT_EQ(canned.count(n), 1u) << "no canned answer for collector " << n;
  }
}

}  // namespace
}  // namespace pgconn
