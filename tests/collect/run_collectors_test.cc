#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "collect/collector.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_session.h"

namespace pgconn {
namespace {

// A collector that answers with a fixed ResultSet and records parses.
struct Parsed {
  std::string column;
};

class StubCollector final : public Collector {
 public:
  StubCollector(std::string name, std::string sql)
      : name_(std::move(name)), sql_(std::move(sql)) {}
  std::string_view name() const override { return name_; }
  std::string Statement(const CollectorContext&) const override { return sql_; }
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
