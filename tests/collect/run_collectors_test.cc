#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "collect/collector.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_session.h"
#include "occurrences.h"

namespace pgconn {
namespace {

// A collector that answers with a fixed ResultSet and records parses.
struct Parsed {
  std::string column;
};

class StubCollector final : public Collector {
 public:
  StubCollector(std::string name, std::string sql,
                std::optional<ParameterizedStatement> form = std::nullopt)
      : name_(std::move(name)), sql_(std::move(sql)), form_(std::move(form)) {}
  std::string_view name() const override { return name_; }
  std::string Statement(const CollectorContext&) const override { return sql_; }
  ParameterizedStatement Parameterized(
      const CollectorContext& ctx) const override {
    return form_ ? *form_ : Collector::Parameterized(ctx);
  }
  Result<std::shared_ptr<const Observation>> Parse(
      const ResultSet& rs) const override {
    if (rs.columns().empty() || rs.columns()[0] != name_) {
      return Status::InvalidData(name_ + ": wrong result");
    }
    return std::shared_ptr<const Observation>(
        std::make_shared<const Part<Parsed>>(Parsed{rs.columns()[0]}));
  }
  void Emit(const Observation&, const Labels&, MetricsWriter*) const override {}

 private:
  std::string name_, sql_;
  std::optional<ParameterizedStatement> form_;
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
  EXPECT_NE(server.queries[0].find("/* pgconn:a */ SELECT 1 AS a;"),
            std::string::npos);
  EXPECT_NE(server.queries[0].find("/* pgconn:b */ SELECT 2 AS b;"),
            std::string::npos);
  ASSERT_EQ(snap.collectors.size(), 2u);
  EXPECT_TRUE(snap.collectors[0].success);
  EXPECT_DOUBLE_EQ(snap.collectors[0].duration_seconds, 0.25);
  EXPECT_DOUBLE_EQ(snap.collectors[1].duration_seconds, 0.5);
  ASSERT_NE(snap.Get("a"), nullptr);
  ASSERT_NE(snap.Get("b"), nullptr);
  EXPECT_EQ(dynamic_cast<const Part<Parsed>*>(snap.Get("b"))->value.column,
            "b");
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
  EXPECT_NE(snap.Get("a"), nullptr);
  EXPECT_EQ(snap.Get("b"), nullptr) << "a failed collector leaves no part";
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
  run.tag = false;
  ASSERT_TRUE(RunCollectors(session, {&a, &b}, CollectorContext{}, run, {},
                            clock, &snap)
                  .ok());
  ASSERT_EQ(server.queries.size(), 2u);
  EXPECT_EQ(server.queries[0], "SHOW a");
  EXPECT_EQ(server.queries[1], "SHOW b");
  EXPECT_TRUE(snap.collectors[1].success);
}

TEST(RunCollectorsTest,
     ABatchWithTheWrongNumberOfResultsIsRunOneByOneAndSaysSo) {
  FakeServer server;
  server.answer = [](std::string_view sql) -> Result<std::vector<ResultSet>> {
    if (sql.find("server_clock") != std::string_view::npos) {
      return std::vector<ResultSet>{ResultSet({"a"}, {})};  // one, not five
    }
    return std::vector<ResultSet>{ResultSet(
        {sql.find("AS a") != std::string_view::npos ? "a" : "b"}, {})};
  };
  FakeSession session(&server);
  ASSERT_TRUE(session.Connect({}).ok());
  StubCollector a("a", "SELECT 1 AS a"), b("b", "SELECT 2 AS b");
  FakeClock clock;
  Snapshot snap;
  std::string problem;
  ASSERT_TRUE(RunCollectors(session, {&a, &b}, CollectorContext{}, RunOptions{},
                            {}, clock, &snap, &problem)
                  .ok());
  EXPECT_EQ(problem,
            "batch returned 1 results, expected 5; running the collectors "
            "one by one");
  EXPECT_EQ(server.queries.size(), 3u);
  ASSERT_EQ(snap.collectors.size(), 2u);
  EXPECT_TRUE(snap.collectors[0].success);
  EXPECT_TRUE(snap.collectors[1].success);
}

// A server that prepares: each statement of `sql` (split at ";\n") gets an
// empty result when it is a PREPARE, the clock when it reads the clock, and
// otherwise a result whose one column is its collector's tag; `refuse` fails
// any query holding it.
Result<std::vector<ResultSet>> PreparingServer(std::string_view sql,
                                               std::string_view refuse) {
  if (!refuse.empty() && sql.find(refuse) != std::string_view::npos) {
    return Status(StatusCode::kQueryFailed, "refused");
  }
  std::vector<ResultSet> out;
  double clock = 1;
  for (size_t start = 0; start < sql.size();) {
    size_t end = sql.find(";\n", start);
    if (end == std::string_view::npos) end = sql.size();
    const std::string_view st = sql.substr(start, end - start);
    start = end + 2;
    if (st.find("PREPARE ") != std::string_view::npos) {
      out.emplace_back();
    } else if (st.find("server_clock") != std::string_view::npos) {
      out.push_back(Clock(clock += 0.25));
    } else {
      const size_t at = st.find("pgconn:") + 7;
      out.push_back(
          ResultSet({std::string(st.substr(at, st.find(' ', at) - at))}, {}));
    }
  }
  return out;
}

// A session that keeps prepared statements gets each statement, and the
// server clock, prepared once per connection; every poll then executes them
// by name, with the per-poll values as arguments.
TEST(PreparedStatementsTest, PreparedOncePerConnectionThenExecutedByName) {
  FakeServer server;
  server.prepares = true;
  server.answer = [](std::string_view sql) { return PreparingServer(sql, ""); };
  FakeSession session(&server);
  ASSERT_TRUE(session.Connect({}).ok());
  StubCollector a("a", "SELECT 1 AS a");
  StubCollector b("b", "SELECT 42 AS b",
                  ParameterizedStatement{"SELECT $1 AS b", {"bigint"}, {"42"}});
  FakeClock clock;
  for (int poll = 0; poll < 3; ++poll) {
    Snapshot snap;
    ASSERT_TRUE(RunCollectors(session, {&a, &b}, CollectorContext{},
                              RunOptions{}, {}, clock, &snap)
                    .ok());
    ASSERT_EQ(snap.collectors.size(), 2u);
    EXPECT_TRUE(snap.collectors[0].success) << snap.collectors[0].error;
    EXPECT_TRUE(snap.collectors[1].success) << snap.collectors[1].error;
    EXPECT_DOUBLE_EQ(snap.collectors[1].duration_seconds, 0.25);
  }
  ASSERT_EQ(server.queries.size(), 4u);  // PREPARE, then three polls
  const std::string& prepare = server.queries[0];
  EXPECT_NE(prepare.find("PREPARE pgconn_server_clock AS SELECT extract"),
            std::string::npos)
      << prepare;
  EXPECT_NE(prepare.find("/* pgconn:a */ PREPARE pgconn_"), std::string::npos);
  EXPECT_NE(prepare.find(" AS SELECT 1 AS a;"), std::string::npos);
  EXPECT_NE(prepare.find("(bigint) AS SELECT $1 AS b;"), std::string::npos);
  for (size_t q = 1; q < 4; ++q) {
    const std::string& batch = server.queries[q];
    EXPECT_EQ(batch.find("SELECT"), std::string::npos) << batch;
    EXPECT_EQ(Occurrences(batch, "EXECUTE pgconn_server_clock;"), 3u) << batch;
    EXPECT_NE(batch.find("/* pgconn:a */ EXECUTE pgconn_"), std::string::npos);
    EXPECT_NE(batch.find("(42);"), std::string::npos) << batch;
  }
  // A new connection has none of them: prepared again, once.
  session.Close();
  ASSERT_TRUE(session.Connect({}).ok());
  Snapshot snap;
  ASSERT_TRUE(RunCollectors(session, {&a, &b}, CollectorContext{}, RunOptions{},
                            {}, clock, &snap)
                  .ok());
  ASSERT_EQ(server.queries.size(), 6u);
  EXPECT_EQ(Occurrences(server.queries[4], "PREPARE "), 3u);
  EXPECT_NE(server.queries[5].find("EXECUTE"), std::string::npos);
}

TEST(PreparedStatementsTest, AStatementTheServerWillNotPrepareIsSentAsItIs) {
  FakeServer server;
  server.prepares = true;
  server.answer = [](std::string_view sql) {
    // Only its PREPARE is refused; as it is, it runs.
    if (sql.find("PREPARE") != std::string_view::npos) {
      return PreparingServer(sql, "odd");
    }
    return PreparingServer(sql, "");
  };
  FakeSession session(&server);
  ASSERT_TRUE(session.Connect({}).ok());
  StubCollector a("a", "SELECT 1 AS a"), b("b", "SELECT odd AS b");
  FakeClock clock;
  for (int poll = 0; poll < 2; ++poll) {
    Snapshot snap;
    ASSERT_TRUE(RunCollectors(session, {&a, &b}, CollectorContext{},
                              RunOptions{}, {}, clock, &snap)
                    .ok());
    EXPECT_TRUE(snap.collectors[0].success);
    EXPECT_TRUE(snap.collectors[1].success);
  }
  // The PREPAREs together (refused), then one by one (b's refused), then
  // the two polls: b's statement as it is, not tried again.
  ASSERT_EQ(server.queries.size(), 6u);
  EXPECT_EQ(Occurrences(server.queries[0], "PREPARE "), 3u);
  for (size_t q = 1; q <= 3; ++q) {
    EXPECT_EQ(Occurrences(server.queries[q], "PREPARE "), 1u)
        << server.queries[q];
  }
  for (size_t q = 4; q <= 5; ++q) {
    EXPECT_NE(server.queries[q].find("/* pgconn:b */ SELECT odd AS b;"),
              std::string::npos)
        << server.queries[q];
    EXPECT_NE(server.queries[q].find("/* pgconn:a */ EXECUTE pgconn_"),
              std::string::npos);
  }
}

// Prepared statements that vanish (a pooler between the agent and the
// server, DISCARD ALL): the failed batch is run collector by collector as
// text, and the connection prepares nothing more.
TEST(PreparedStatementsTest, AFailedBatchStopsPreparingOnThatConnection) {
  FakeServer server;
  server.prepares = true;
  server.answer = [](std::string_view sql) {
    return PreparingServer(sql, "EXECUTE");
  };
  FakeSession session(&server);
  ASSERT_TRUE(session.Connect({}).ok());
  StubCollector a("a", "SELECT 1 AS a"), b("b", "SELECT 2 AS b");
  FakeClock clock;
  Snapshot first;
  ASSERT_TRUE(RunCollectors(session, {&a, &b}, CollectorContext{}, RunOptions{},
                            {}, clock, &first)
                  .ok());
  EXPECT_TRUE(first.collectors[0].success);
  EXPECT_TRUE(first.collectors[1].success);
  // PREPARE, the failed batch, each alone.
  ASSERT_EQ(server.queries.size(), 4u);
  Snapshot second;
  ASSERT_TRUE(RunCollectors(session, {&a, &b}, CollectorContext{}, RunOptions{},
                            {}, clock, &second)
                  .ok());
  ASSERT_EQ(server.queries.size(), 5u);  // one batch, as text
  EXPECT_EQ(server.queries[4].find("PREPARE"), std::string::npos);
  EXPECT_EQ(server.queries[4].find("EXECUTE"), std::string::npos);
  EXPECT_NE(server.queries[4].find("/* pgconn:b */ SELECT 2 AS b;"),
            std::string::npos);
}

TEST(CollectorSwitchTest, DefaultsUnlessSwitched) {
  const std::vector<CollectorEntry> table = {
      {"a", true, "", [] { return std::make_unique<StubCollector>("a", ""); }},
      {"b", false, "", [] { return std::make_unique<StubCollector>("b", ""); }},
      {"c", true, "", [] { return std::make_unique<StubCollector>("c", ""); }},
  };
  auto names = [&](const std::map<std::string, bool, std::less<>>& sw) {
    std::string out;
    for (const auto& c : EnabledCollectors(table, sw)) out += c->name();
    return out;
  };
  EXPECT_EQ(names({}), "ac");
  EXPECT_EQ(names({{"b", true}}), "abc");
  EXPECT_EQ(names({{"a", false}, {"zzz", true}}), "c");
  EXPECT_EQ(FindCollectorEntry(table, "b"), &table[1]);
  EXPECT_EQ(FindCollectorEntry(table, "d"), nullptr);
}

struct Thing {
  static constexpr std::string_view kName = "thing";
  int n = 0;
};

TEST(SnapshotTest, FindsPartsByTypeAndName) {
  Snapshot snap;
  EXPECT_EQ(snap.Find<Thing>(), nullptr);
  snap.Put(Thing{1});
  snap.Put(Thing{2});  // replaces
  ASSERT_NE(snap.Find<Thing>(), nullptr);
  EXPECT_EQ(snap.Find<Thing>()->n, 2);
  EXPECT_NE(snap.Get("thing"), nullptr);
  EXPECT_EQ(snap.Get("other"), nullptr);
}

}  // namespace
}  // namespace pgconn
