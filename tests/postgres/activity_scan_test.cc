#include "postgres/activity_scan.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "occurrences.h"
#include "postgres/registry.h"

namespace pgconn {
namespace {

std::string StatementOf(std::string_view name, const CollectorContext& ctx) {
  const CollectorEntry* e = FindCollectorEntry(PostgresCollectors(), name);
  EXPECT_NE(e, nullptr) << name;
  return e == nullptr ? "" : e->create()->Statement(ctx);
}

TEST(ActivityScanTest, TheFourCollectorsShareOneReadOfTheView) {
  CollectorContext ctx;
  ctx.collectors = {"settings", "activity", "databases",
                    "users",    "backends", "sessions"};
  const std::string sql = StatementOf("activity", ctx);
  for (const char* name : {"databases", "users", "backends"}) {
    EXPECT_EQ(StatementOf(name, ctx), sql) << name;
  }
  // The function behind the view, once; not the view, whose joins to the
  // catalog would run per backend.
  EXPECT_EQ(Occurrences(sql, "pg_stat_get_activity(NULL)"), 1u) << sql;
  EXPECT_EQ(Occurrences(sql, "pg_stat_activity"), 0u) << sql;
  // One grouping of the backends, every part's totals summed from it in
  // the agent; the catalog's names and limits beside it: nothing
  // materialized, aggregated twice, joined or ranked on the server.
  EXPECT_EQ(sql.find("WITH "), std::string::npos) << sql;
  EXPECT_EQ(Occurrences(sql, "GROUP BY"), 1u) << sql;
  EXPECT_EQ(Occurrences(sql, " JOIN "), 0u) << sql;
  EXPECT_EQ(Occurrences(sql, " OVER ("), 0u) << sql;
  EXPECT_NE(sql.find("GROUP BY application_name, state, client_addr, "
                     "client_port = -1, datid, usesysid, backend_type, "
                     "wait_event_type"),
            std::string::npos)
      << sql;
  for (const char* part :
       {"'activity'::text", "'databases'::text", "'users'::text"}) {
    EXPECT_EQ(Occurrences(sql, part), 1u) << part;
  }
  EXPECT_EQ(Occurrences(sql, "'backends'::text"), 0u)
      << "the backends' totals come from the activity rows";
  EXPECT_NE(sql.find("FROM pg_database WHERE datallowconn"), std::string::npos);
  EXPECT_NE(sql.find("FROM pg_roles WHERE rolcanlogin"), std::string::npos);
  EXPECT_EQ(sql.find(';'), std::string::npos);
}

// pgconn_connections_opened_total: each group sends the identities of
// its client backends that may be new, those that started after the
// previous scan's server time (exactly, in integer microseconds; this
// scan's before the first) less the longest a login can take; the window
// is computed once (a scalar subquery), not per backend.
TEST(ActivityScanTest, SendsTheIdentitiesOfBackendsThatMayBeNew) {
  CollectorContext ctx;
  const std::string first = StatementOf("activity", ctx);
  EXPECT_NE(first.find("string_agg(pid || ':' || (extract(epoch FROM "
                       "backend_start) * 1000000)::bigint, ' ')"),
            std::string::npos)
      << first;
  EXPECT_NE(first.find("AND state IS DISTINCT FROM 'starting' AND "
                       "backend_start > (SELECT coalesce(NULL::timestamptz, "
                       "now()) - (2 * current_setting('authentication_timeout')"
                       "::interval + interval '10 seconds'))"),
            std::string::npos)
      << first;
  EXPECT_NE(first.find("AS scan_time"), std::string::npos);
  EXPECT_NE(first.find("AS recent_backends"), std::string::npos);
  ctx.previous_scan_time_us = 1764612345123456;
  const std::string next = StatementOf("activity", ctx);
  EXPECT_NE(next.find("(SELECT coalesce((timestamptz 'epoch' + "
                      "1764612345123456 * interval '1 microsecond'), now())"),
            std::string::npos)
      << next;
  EXPECT_EQ(Occurrences(next, "pg_stat_get_activity(NULL)"), 1u);
}

// Prepared once per session: the text is the same from poll to poll, the
// previous scan's time is its parameter.
TEST(ActivityScanTest, ThePreparedFormTakesThePreviousScanAsParameter) {
  const CollectorEntry* e = FindCollectorEntry(PostgresCollectors(), "users");
  ASSERT_NE(e, nullptr);
  auto c = e->create();
  CollectorContext ctx;
  ctx.collectors = {"activity", "users"};
  const ParameterizedStatement first = c->Parameterized(ctx);
  EXPECT_EQ(first.parameter_types, std::vector<std::string>{"bigint"});
  EXPECT_EQ(first.arguments, std::vector<std::string>{"NULL"});
  EXPECT_NE(first.sql.find("(SELECT coalesce((timestamptz 'epoch' + $1 * "
                           "interval '1 microsecond'), now())"),
            std::string::npos)
      << first.sql;
  ctx.previous_scan_time_us = 1764612345123456;
  const ParameterizedStatement next = c->Parameterized(ctx);
  EXPECT_EQ(next.sql, first.sql);
  EXPECT_EQ(next.arguments, std::vector<std::string>{"1764612345123456"});
  // The activity collector's form is the same statement.
  const CollectorEntry* a =
      FindCollectorEntry(PostgresCollectors(), "activity");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->create()->Parameterized(ctx).sql, next.sql);
  // Collectors outside the scan have no parameters: their statement as is.
  const CollectorEntry* s =
      FindCollectorEntry(PostgresCollectors(), "settings");
  ASSERT_NE(s, nullptr);
  const ParameterizedStatement settings = s->create()->Parameterized(ctx);
  EXPECT_EQ(settings.sql, s->create()->Statement(ctx));
  EXPECT_TRUE(settings.parameter_types.empty());
}

TEST(ActivityScanTest, ASwitchedOffCollectorCostsNothing) {
  CollectorContext ctx;
  ctx.collectors = {"activity", "backends"};
  const std::string sql = StatementOf("backends", ctx);
  EXPECT_EQ(sql, StatementOf("activity", ctx));
  EXPECT_EQ(sql.find("pg_roles"), std::string::npos);
  EXPECT_EQ(sql.find("pg_database"), std::string::npos);
  EXPECT_NE(sql.find("'activity'::text"), std::string::npos);

  // Alone (or outside a poll), a collector's statement holds the backends'
  // rows it sums and its own catalog, not the other parts'.
  const std::string users = StatementOf("users", CollectorContext{});
  EXPECT_NE(users.find("pg_roles"), std::string::npos);
  EXPECT_EQ(users.find("pg_database"), std::string::npos);
  EXPECT_NE(users.find("'activity'::text"), std::string::npos);
  EXPECT_EQ(users.find("GROUPING SETS"), std::string::npos);
}

TEST(ActivityScanTest, RowsOfPartPicksItsRows) {
  using C = ResultSet::Cell;
  ResultSet rs({"part", "name"}, {{C("users"), C("app")},
                                  {C("databases"), C("postgres")},
                                  {C(), C("nobody's")},
                                  {C("users"), C("reports")}});
  const ResultSet users = detail::RowsOfPart(rs, "users");
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(*users.rows()[1][1], "reports");
  EXPECT_EQ(users.columns(), rs.columns());
  // A result without the column is that part's alone.
  ResultSet alone({"name"}, {{C("app")}});
  EXPECT_EQ(detail::RowsOfPart(alone, "users").size(), 1u);
}

// The rows of a result, read in place (as a session's are).
class RowsSource final : public ResultSet::Source {
 public:
  explicit RowsSource(std::vector<std::vector<std::string>> rows)
      : rows_(std::move(rows)) {}
  size_t rows() const override { return rows_.size(); }
  size_t columns() const override { return rows_.at(0).size(); }
  bool null(size_t, size_t) const override { return false; }
  std::string_view value(size_t row, size_t column) const override {
    return rows_[row][column];
  }

 private:
  const std::vector<std::vector<std::string>> rows_;
};

TEST(ActivityScanTest, OneFoldingOfTheApplicationsPerResultAndContext) {
  const ResultSet rs = ResultSet::InPlace(
      {"part", "application", "client", "connections"},
      std::make_shared<const RowsSource>(
          std::vector<std::vector<std::string>>{{"activity", "web", "t", "5"},
                                                {"activity", "batch", "t", "2"},
                                                {"activity", "cron", "t", "1"},
                                                {"activity", "", "f", "3"}}));
  CollectorContext ctx;
  ctx.max_applications = 1;
  auto a = detail::ScanClients::Shared(rs, ctx, "activity");
  auto b = detail::ScanClients::Shared(rs, ctx, "wait_events");
  ASSERT_TRUE(a.ok() && b.ok());
  // activity and wait_events fold the same rows once between them.
  EXPECT_EQ(a->get(), b->get());
  EXPECT_TRUE((*a)->Kept("web"));
  EXPECT_EQ((*a)->folded(), 2);
  EXPECT_EQ((*a)->rows().size(), 3u);  // the client rows
  // Another folding of the same rows is its own.
  ctx.pinned_applications = {"cron"};
  auto pinned = detail::ScanClients::Shared(rs, ctx, "activity");
  ASSERT_TRUE(pinned.ok());
  EXPECT_NE(pinned->get(), a->get());
  EXPECT_TRUE((*pinned)->Kept("cron"));
  EXPECT_FALSE((*pinned)->Kept("web"));
  // A malformed result is an error each time, naming the collector asking.
  const ResultSet bad = ResultSet::InPlace(
      {"application", "connections"},
      std::make_shared<const RowsSource>(
          std::vector<std::vector<std::string>>{{"web", "many"}}));
  auto first = detail::ScanClients::Shared(bad, ctx, "activity");
  auto second = detail::ScanClients::Shared(bad, ctx, "wait_events");
  ASSERT_FALSE(first.ok());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("wait_events"), std::string::npos)
      << second.status().message();
}

}  // namespace
}  // namespace pgconn
