#include <gtest/gtest.h>

#include <map>
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

// The scan's activity rows: application, state, client_address,
// connections, lock_waiting, oldest_state_seconds,
// oldest_transaction_seconds, own_connections, recent_backends.
ResultSet ActivityRows(std::vector<Row> rows) {
  return ResultSet(
      {"application", "state", "client_address", "connections", "lock_waiting",
       "oldest_state_seconds", "oldest_transaction_seconds", "own_connections",
       "recent_backends"},
      std::move(rows));
}

// What the activity collector makes of `rs` in a poll with `ctx`.
Activity ParseActivityIn(const ResultSet& rs, const CollectorContext& ctx) {
  auto parsed = Make("activity")->ParseIn(rs, ctx);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  if (!parsed.ok()) return Activity{};
  const auto* part = dynamic_cast<const Part<Activity>*>(parsed->get());
  EXPECT_NE(part, nullptr);
  return part == nullptr ? Activity{} : part->value;
}

const ActivityGroup* FindGroup(const Activity& a, std::string_view app,
                               std::string_view state) {
  for (const ActivityGroup& g : a.groups) {
    if (g.application == app && g.state == state) return &g;
  }
  return nullptr;
}

int64_t AddressesOf(const Activity& a, std::string_view app) {
  for (const ApplicationInfo& x : a.applications) {
    if (x.application == app) return x.client_addresses;
  }
  return -1;
}

TEST(ActivityCollectorTest, SumsAddressesAndMapsUnsetApplications) {
  ResultSet rs = ActivityRows({
      {S("worker"), S("idle"), S("10.0.0.1"), S("5"), S("0"), S("12.5"), S("0"),
       S("0"), S("101:1764612345000001")},
      {S("worker"), S("idle"), S("10.0.0.2"), S("3"), S("0"), S("7"), S("0"),
       S("0"), kNull},
      {S("worker"), S("active"), S("10.0.0.1"), S("2"), S("1"), S("0.25"),
       S("0.3"), S("1"), S("102:1764612345000002 103:1764612345000003")},
      {S(""), S("idle in transaction"), S("local"), S("1"), S("0"), S("30"),
       S("31"), S("0"), S("104:1764612345000004")},
      {S("batch"), S("unknown"), kNull, S("4"), S("0"), S("0"), S("0"), S("0"),
       kNull},
  });
  const Activity a = ParseAs<Activity>(rs);
  ASSERT_EQ(a.groups.size(), 4u);
  const ActivityGroup* idle = FindGroup(a, "worker", "idle");
  ASSERT_NE(idle, nullptr);
  EXPECT_EQ(idle->connections, 8);
  EXPECT_DOUBLE_EQ(idle->oldest_state_seconds, 12.5);  // the older one
  // The recent backends by identity, under their own (unfolded) names.
  ASSERT_EQ(a.recent.size(), 4u);
  EXPECT_EQ(a.recent[0].application, "worker");
  EXPECT_EQ(a.recent[0].identity, "101:1764612345000001");
  EXPECT_EQ(a.recent[2].identity, "103:1764612345000003");
  EXPECT_EQ(a.recent[3].application, "(unset)");
  const ActivityGroup* active = FindGroup(a, "worker", "active");
  ASSERT_NE(active, nullptr);
  EXPECT_EQ(active->lock_waiting, 1);
  EXPECT_EQ(active->own_connections, 1);
  EXPECT_DOUBLE_EQ(active->oldest_transaction_seconds, 0.3);
  EXPECT_NE(FindGroup(a, "(unset)", "idle in transaction"), nullptr);
  EXPECT_EQ(AddressesOf(a, "worker"), 2);
  EXPECT_EQ(AddressesOf(a, "(unset)"), 1);
  EXPECT_EQ(AddressesOf(a, "batch"), 0);  // a NULL address counts as none
  EXPECT_EQ(a.folded_applications, 0);
  // Summed up once, at parse time.
  EXPECT_EQ(a.summary.used, 15);
  EXPECT_EQ(a.summary.idle, 8);
  EXPECT_EQ(a.summary.idle_in_transaction, 1);
  EXPECT_EQ(a.summary.lock_waiting, 1);
  EXPECT_DOUBLE_EQ(
      a.summary.applications.at("(unset)").oldest_idle_in_transaction_seconds,
      30);
}

// Ranked by connections (then by name, byte order), the pinned names first
// whatever their size; the rest are one group, "(other)", with the union
// of their addresses and the oldest of their ages.
TEST(ActivityCollectorTest, FoldsTheSmallestApplicationsPinnedOnesKept) {
  ResultSet rs = ActivityRows({
      {S("big"), S("idle"), S("a"), S("9"), S("0"), S("1"), S("0"), S("0"),
       kNull},
      {S("mid-b"), S("idle"), S("a"), S("3"), S("0"), S("2"), S("0"), S("0"),
       kNull},
      {S("mid-a"), S("idle"), S("b"), S("3"), S("0"), S("40"), S("0"), S("0"),
       kNull},
      {S("tiny"), S("idle"), S("c"), S("1"), S("0"), S("5"), S("0"), S("0"),
       S("7:1 8:2")},
      {S("pool"), S("active"), S("d"), S("1"), S("0"), S("0"), S("0"), S("0"),
       kNull},
  });
  CollectorContext ctx;
  ctx.max_applications = 2;
  Activity a = ParseActivityIn(rs, ctx);
  EXPECT_EQ(a.folded_applications, 3);
  EXPECT_NE(FindGroup(a, "big", "idle"), nullptr);
  EXPECT_NE(FindGroup(a, "mid-a", "idle"), nullptr);  // the tie, by name
  const ActivityGroup* other = FindGroup(a, "(other)", "idle");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->connections, 4);  // mid-b and tiny
  EXPECT_DOUBLE_EQ(other->oldest_state_seconds, 5);
  // Folded in the gauges, not in the identities: the opened counter
  // bounds its names itself.
  ASSERT_EQ(a.recent.size(), 2u);
  EXPECT_EQ(a.recent[0].application, "tiny");
  EXPECT_NE(FindGroup(a, "(other)", "active"), nullptr);  // pool
  EXPECT_EQ(AddressesOf(a, "(other)"), 3);                // a, c, d
  EXPECT_EQ(a.summary.used, 17);

  ctx.pinned_applications = {"pool"};
  a = ParseActivityIn(rs, ctx);
  EXPECT_EQ(a.folded_applications, 3);
  EXPECT_NE(FindGroup(a, "pool", "active"), nullptr);
  EXPECT_NE(FindGroup(a, "big", "idle"), nullptr);
  EXPECT_EQ(FindGroup(a, "mid-a", "idle"), nullptr);

  ctx.max_applications = 0;  // everything folded
  a = ParseActivityIn(rs, ctx);
  EXPECT_EQ(a.folded_applications, 5);
  ASSERT_EQ(a.applications.size(), 1u);
  EXPECT_EQ(a.applications[0].application, "(other)");
}

TEST(ActivityCollectorTest, EmptyResultMeansNoClients) {
  const Activity a = ParseAs<Activity>(ActivityRows({}));
  EXPECT_TRUE(a.groups.empty());
  EXPECT_EQ(a.summary.used, 0);
}

TEST(ActivityCollectorTest, StatementCountsItsOwnSessionAsAClient) {
  auto c = Make("activity");
  const std::string sql = c->Statement(CollectorContext{});
  // The agent's own session counts, marked as its own.
  EXPECT_EQ(sql.find("pid <> pg_backend_pid()"), std::string::npos);
  EXPECT_NE(sql.find("FILTER (WHERE pid = pg_backend_pid())"),
            std::string::npos);
  EXPECT_NE(sql.find("backend_type IS NOT DISTINCT FROM 'client backend'"),
            std::string::npos);
  // Neither the fold limit nor the pinned names are in the statement: the
  // collector folds, so the text (prepared once) does not depend on them.
  CollectorContext ctx;
  ctx.max_applications = 7;
  ctx.pinned_applications = {"worker"};
  EXPECT_EQ(c->Statement(ctx), sql);
}

TEST(ActivityCollectorTest, BadCellsNameTheColumn) {
  Status s = ParseError(
      "activity", ActivityRows({{S("w"), S("idle"), S("a"), S("lots"), S("0"),
                                 S("0"), S("0"), S("0"), S("0")}}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("\"connections\""), std::string::npos)
      << s.message();
  EXPECT_FALSE(ParseError("activity", ResultSet({"application"}, {})).ok());
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

// The scan's own rows: the backends (part "activity", clients and not)
// summed by the databases, users and backends collectors in the agent,
// beside the catalog's names and limits.
ResultSet ScanRows() {
  const std::vector<std::string> columns = {"part",
                                            "application",
                                            "state",
                                            "client_address",
                                            "datid",
                                            "usesysid",
                                            "backend_type",
                                            "client",
                                            "wait_event_type",
                                            "connections",
                                            "oid",
                                            "name",
                                            "connection_limit",
                                            "max_names"};
  auto backend = [](const char* app, const char* datid, const char* usesysid,
                    const char* type, const char* client, const char* n) {
    return Row{S("activity"),
               S(app),
               S("idle"),
               S("local"),
               datid ? S(datid) : kNull,
               usesysid ? S(usesysid) : kNull,
               type ? S(type) : kNull,
               S(client),
               kNull,
               S(n),
               kNull,
               kNull,
               kNull,
               kNull};
  };
  auto catalog = [](const char* part, const char* oid, const char* name,
                    const char* limit, const char* max) {
    return Row{S(part), kNull, kNull, kNull,  kNull,   kNull,    kNull,
               kNull,   kNull, kNull, S(oid), S(name), S(limit), S(max)};
  };
  return ResultSet(
      columns, {backend("web", "5", "10", "client backend", "t", "4"),
                backend("web", "5", "11", "client backend", "t", "2"),
                backend("api", "6", "10", "client backend", "t", "3"),
                backend("api", "7", "12", nullptr, "t", "1"),  // a hidden one
                backend("", nullptr, nullptr, "checkpointer", "f", "1"),
                backend("", "5", "10", "autovacuum worker", "f", "2"),
                backend("", nullptr, nullptr, nullptr, "f", "1"),
                catalog("databases", "5", "app", "-1", "1"),
                catalog("databases", "6", "reports", "10", "1"),
                catalog("databases", "7", "zeta", "-1", "1"),
                catalog("databases", "8", "empty", "-1", "1"),
                catalog("users", "10", "alice", "-1", "1"),
                catalog("users", "11", "bob", "-1", "1"),
                catalog("users", "12", "carol", "-1", "1"),
                catalog("users", "13", "idle-limited", "3", "1"),
                catalog("users", "14", "idle", "-1", "1")});
}

TEST(LimitedGroupsTest, SumsTheScansClientsPerOidAndFoldsInTheAgent) {
  const auto dbs = ParseAs<DatabaseConnections>(ScanRows()).groups;
  // app (6 clients; the autovacuum worker is no client) is the largest,
  // reports has a limit; zeta (1) and empty (0) fold.
  ASSERT_EQ(dbs.size(), 3u);
  EXPECT_EQ(dbs[0].name, "app");
  EXPECT_EQ(dbs[0].connections, 6);
  EXPECT_FALSE(dbs[0].limit.has_value());
  EXPECT_EQ(dbs[1].name, "reports");
  EXPECT_EQ(dbs[1].connections, 3);
  EXPECT_EQ(*dbs[1].limit, 10);
  EXPECT_EQ(dbs[2].name, "(other)");
  EXPECT_EQ(dbs[2].connections, 1);
  EXPECT_FALSE(dbs[2].limit.has_value());

  // Roles without connections or limit are left out (idle); alice (7) is
  // kept, idle-limited for its limit; bob and carol (1 and 1) fold.
  const auto users = ParseAs<UserConnections>(ScanRows()).groups;
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_EQ(users[0].connections, 7);
  EXPECT_EQ(users[1].name, "idle-limited");
  EXPECT_EQ(users[1].connections, 0);
  EXPECT_EQ(*users[1].limit, 3);
  EXPECT_EQ(users[2].name, "(other)");
  EXPECT_EQ(users[2].connections, 3);

  // max_names 0: only the names with a limit are kept.
  const auto none_kept = [] {
    ResultSet rs = ScanRows();
    ResultSet out(rs.columns(), {});
    for (const auto& row : rs.rows()) {
      Row r = row;
      if (r[13]) r[13] = "0";
      out.AddRow(std::move(r));
    }
    return out;
  }();
  const auto folded = ParseAs<DatabaseConnections>(none_kept).groups;
  ASSERT_EQ(folded.size(), 2u);  // reports (limit) and everything else
  EXPECT_EQ(folded[0].name, "reports");
  EXPECT_EQ(folded[1].name, "(other)");
  EXPECT_EQ(folded[1].connections, 7);

  Row bad = ScanRows().rows()[0];
  bad[9] = "many";
  ResultSet with_bad(ScanRows().columns(), {bad});
  Status s = ParseError("databases", with_bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "databases: column \"connections\": \"many\" is not a whole "
            "number");
}

TEST(BackendsCollectorTest, SumsTheScansOtherBackendsPerType) {
  const auto b = ParseAs<OtherBackends>(ScanRows()).backends;
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].backend_type, "autovacuum worker");
  EXPECT_EQ(b[0].count, 2);
  EXPECT_EQ(b[1].backend_type, "checkpointer");
  EXPECT_EQ(b[2].backend_type, "unknown");
}

TEST(ActivityCollectorTest, CountsTheScansClientsOnly) {
  const Activity a = ParseAs<Activity>(ScanRows());
  EXPECT_EQ(a.summary.used, 10);
  EXPECT_EQ(a.summary.applications.count("(unset)"), 0u)
      << "the other backends' empty names are no application";
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
  // The fake server answers every statement of a poll with every collector
  // on: a collector with a statement of its own needs its canned answer
  // (tests/fixtures/postgres/canned/NAME.tsv), a part of the shared scan
  // reads its partners' rows and needs none.
  CollectorContext ctx;
  ctx.collectors.assign(names.begin(), names.end());
  std::map<std::string, std::vector<std::string>> sharers;  // by statement
  for (const auto& e : PostgresCollectors()) {
    sharers[e.create()->Statement(ctx)].emplace_back(e.name);
  }
  const CannedAnswers canned = CannedPostgresAnswers(100, 1, 1);
  for (const auto& [sql, tags] : sharers) {
    auto answer = SharedAnswer(canned, tags);
    EXPECT_TRUE(answer.ok()) << answer.status().message();
    if (tags.size() == 1) {
      EXPECT_EQ(canned.count(tags[0]), 1u)
          << "no canned answer for collector " << tags[0];
    }
  }
}

}  // namespace
}  // namespace pgconn
