// The batch's statement texts and prepared names are built once per
// connection, not at every poll.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "collect/collector.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_session.h"

namespace pgconn {
namespace {

struct Seen {
  std::string column;
};

// A collector whose statement takes the context's max_applications, with
// the previous scan's time as its parameter; counts the statements built.
class CountingCollector final : public Collector {
 public:
  explicit CountingCollector(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  std::string Statement(const CollectorContext& ctx) const override {
    ++built;
    return "SELECT " + std::to_string(ctx.max_applications) + " AS " + name_;
  }
  ParameterizedStatement Parameterized(
      const CollectorContext& ctx) const override {
    ++built;
    return {
        "SELECT " + std::to_string(ctx.max_applications) + ", $1 AS " + name_,
        {"bigint"},
        Arguments(ctx)};
  }
  std::vector<std::string> Arguments(
      const CollectorContext& ctx) const override {
    return {std::to_string(ctx.previous_scan_time_us.value_or(0))};
  }
  Result<std::shared_ptr<const Observation>> Parse(
      const ResultSet& rs) const override {
    if (rs.columns().empty() || rs.columns()[0] != name_) {
      return Status::InvalidData(name_ + ": wrong result");
    }
    return std::shared_ptr<const Observation>(
        std::make_shared<const Part<Seen>>(Seen{rs.columns()[0]}));
  }
  void Emit(const Observation&, const Labels&, MetricsWriter*) const override {}
  mutable std::atomic<int> built{0};

 private:
  std::string name_;
};

// Each statement of `sql` (split at ";\n"): an empty result for a PREPARE,
// the clock for the clock, else a result whose column is the collector's
// tag.
Result<std::vector<ResultSet>> Answer(std::string_view sql) {
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
      out.push_back(ResultSet({"server_clock"}, {{std::to_string(clock)}}));
      clock += 0.5;
    } else {
      const size_t at = st.find("pgconn:") + 7;
      out.push_back(
          ResultSet({std::string(st.substr(at, st.find(' ', at) - at))}, {}));
    }
  }
  return out;
}

TEST(BatchOnceTest, TextsBuiltOncePerConnectionAndAgainWhenSettingsChange) {
  FakeServer server;
  server.prepares = true;
  server.answer = Answer;
  FakeSession session(&server);
  ASSERT_TRUE(session.Connect({}).ok());
  CountingCollector a("a"), b("b");
  FakeClock clock;
  CollectorContext ctx;
  auto poll = [&](int64_t previous_scan) {
    ctx.previous_scan_time_us = previous_scan;
    Snapshot snap;
    ASSERT_TRUE(
        RunCollectors(session, {&a, &b}, ctx, RunOptions{}, {}, clock, &snap)
            .ok());
    ASSERT_EQ(snap.collectors.size(), 2u);
    EXPECT_TRUE(snap.collectors[0].success) << snap.collectors[0].error;
    EXPECT_TRUE(snap.collectors[1].success) << snap.collectors[1].error;
  };
  for (int64_t t = 1; t <= 3; ++t) poll(t * 1000);
  EXPECT_EQ(a.built.load(), 1);
  EXPECT_EQ(b.built.load(), 1);
  ASSERT_EQ(server.queries.size(), 4u);  // PREPARE, then three polls
  // Each poll has its own arguments.
  EXPECT_NE(server.queries[1].find("(1000);"), std::string::npos)
      << server.queries[1];
  EXPECT_NE(server.queries[3].find("(3000);"), std::string::npos)
      << server.queries[3];
  EXPECT_EQ(server.queries[3].find("(1000);"), std::string::npos);

  // A setting that shapes the statements: built and prepared again.
  ctx.max_applications = 7;
  poll(4000);
  EXPECT_EQ(a.built.load(), 2);
  ASSERT_EQ(server.queries.size(), 6u);
  EXPECT_NE(server.queries[4].find("AS SELECT 7, $1 AS a"), std::string::npos)
      << server.queries[4];
  const std::string& executed = server.queries[5];
  EXPECT_EQ(executed.find("SELECT"), std::string::npos) << executed;
  EXPECT_NE(executed.find("(4000);"), std::string::npos) << executed;

  // A new connection: built and prepared again, once.
  session.Close();
  ASSERT_TRUE(session.Connect({}).ok());
  poll(5000);
  poll(6000);
  EXPECT_EQ(a.built.load(), 3);
  EXPECT_EQ(b.built.load(), 3);
  ASSERT_EQ(server.queries.size(), 9u);
}

}  // namespace
}  // namespace pgconn
