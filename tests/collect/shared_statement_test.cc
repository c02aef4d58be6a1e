// Collectors whose statements are identical (the PostgreSQL collectors that
// share the pg_stat_activity scan) run it once per batch.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "collect/collector.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_session.h"

namespace pgconn {
namespace {

struct Seen {
  std::string collectors;  // what the statement was built for
};

// Its statement names every collector of the poll that starts with `group`,
// as a shared scan includes its partners' parts.
class GroupCollector final : public Collector {
 public:
  GroupCollector(std::string name, char group)
      : name_(std::move(name)), group_(group) {}
  std::string_view name() const override { return name_; }
  std::string Statement(const CollectorContext& ctx) const override {
    std::string parts;
    for (const std::string& c : ctx.collectors) {
      if (c[0] == group_) parts += c;
    }
    return "SELECT '" + parts + "' AS parts";
  }
  Result<std::shared_ptr<const Observation>> Parse(
      const ResultSet& rs) const override {
    if (rs.ColumnIndex("parts") < 0 || rs.size() != 1) {
      return Status::InvalidData(name_ + ": wrong result");
    }
    return std::shared_ptr<const Observation>(
        std::make_shared<const Part<Seen>>(Seen{*rs.rows()[0][0]}));
  }
  void Emit(const Observation&, const Labels&, MetricsWriter*) const override {}

 private:
  std::string name_;
  char group_;
};

ResultSet Clock(double t) {
  return ResultSet({"server_clock"}, {{std::to_string(t)}});
}

std::string SeenBy(const Snapshot& snap, std::string_view name) {
  const auto* p = dynamic_cast<const Part<Seen>*>(snap.Get(name));
  return p == nullptr ? "(none)" : p->value.collectors;
}

TEST(SharedStatementTest, IdenticalStatementsRunOnceAndEachSharerParsesIt) {
  FakeServer server;
  server.answer = [](std::string_view) -> Result<std::vector<ResultSet>> {
    return std::vector<ResultSet>{
        Clock(10.0), ResultSet({"parts"}, {{std::string("s1s2")}}), Clock(10.5),
        ResultSet({"parts"}, {{std::string("t1")}}), Clock(10.75)};
  };
  FakeSession session(&server);
  ASSERT_TRUE(session.Connect({}).ok());
  GroupCollector s1("s1", 's'), t1("t1", 't'), s2("s2", 's');
  FakeClock clock;
  Snapshot snap;
  ASSERT_TRUE(RunCollectors(session, {&s1, &t1, &s2}, CollectorContext{},
                            RunOptions{}, {}, clock, &snap)
                  .ok());
  ASSERT_EQ(server.queries.size(), 1u);
  const std::string& q = server.queries[0];
  EXPECT_NE(q.find("/* pgconn:s1 */ /* pgconn:s2 */ SELECT 's1s2' AS parts;"),
            std::string::npos)
      << q;
  EXPECT_NE(q.find("/* pgconn:t1 */ SELECT 't1' AS parts;"), std::string::npos);
  EXPECT_EQ(q.find("SELECT 's1s2'"), q.rfind("SELECT 's1s2'")) << "sent twice";
  // Outcomes in the collectors' order; the sharers report the shared time.
  ASSERT_EQ(snap.collectors.size(), 3u);
  EXPECT_EQ(snap.collectors[0].name, "s1");
  EXPECT_EQ(snap.collectors[1].name, "t1");
  EXPECT_EQ(snap.collectors[2].name, "s2");
  EXPECT_DOUBLE_EQ(snap.collectors[0].duration_seconds, 0.5);
  EXPECT_DOUBLE_EQ(snap.collectors[1].duration_seconds, 0.25);
  EXPECT_DOUBLE_EQ(snap.collectors[2].duration_seconds, 0.5);
  EXPECT_EQ(SeenBy(snap, "s1"), "s1s2");
  EXPECT_EQ(SeenBy(snap, "s2"), "s1s2");
  EXPECT_EQ(SeenBy(snap, "t1"), "t1");
}

TEST(SharedStatementTest, AfterAFailedBatchEachSharerRunsItsPartAlone) {
  FakeServer server;
  server.answer = [](std::string_view sql) -> Result<std::vector<ResultSet>> {
    if (sql.find("server_clock") != std::string_view::npos) {
      return Status(StatusCode::kQueryFailed, "boom");
    }
    if (sql.find("s2") != std::string_view::npos) {
      return Status(StatusCode::kQueryFailed, "s2 fails");
    }
    const size_t q = sql.find('\'');
    return std::vector<ResultSet>{
        ResultSet({"parts"},
                  {{std::string(sql.substr(q + 1, sql.rfind('\'') - q - 1))}})};
  };
  FakeSession session(&server);
  ASSERT_TRUE(session.Connect({}).ok());
  GroupCollector s1("s1", 's'), s2("s2", 's'), t1("t1", 't');
  FakeClock clock;
  Snapshot snap;
  ASSERT_TRUE(RunCollectors(session, {&s1, &s2, &t1}, CollectorContext{},
                            RunOptions{}, {}, clock, &snap)
                  .ok());
  ASSERT_EQ(server.queries.size(), 4u);  // the batch, then one each
  EXPECT_EQ(server.queries[1], "/* pgconn:s1 */ SELECT 's1' AS parts");
  ASSERT_EQ(snap.collectors.size(), 3u);
  EXPECT_TRUE(snap.collectors[0].success);
  EXPECT_FALSE(snap.collectors[1].success);
  EXPECT_EQ(snap.collectors[1].error, "s2 fails");
  EXPECT_TRUE(snap.collectors[2].success);
  EXPECT_EQ(SeenBy(snap, "s1"), "s1");
}

}  // namespace
}  // namespace pgconn
