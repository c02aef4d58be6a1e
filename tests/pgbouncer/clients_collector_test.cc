#include <gtest/gtest.h>

#include <map>
#include <string>

#include "collect/collector.h"
#include "pgbouncer/registry.h"
#include "pgbouncer_fixtures.h"

namespace pgconn {
namespace {

std::unique_ptr<Collector> Clients() {
  const CollectorEntry* e =
      FindCollectorEntry(PgBouncerCollectors(), "pgbouncer_clients");
  EXPECT_NE(e, nullptr);
  return e == nullptr ? nullptr : e->create();
}

// "database/user/application/state" -> value of every emitted sample.
std::map<std::string, double> Samples(const Collector& c,
                                      const Observation& o) {
  MetricsWriter w;
  c.Emit(o, {{"target", "b"}}, &w);
  std::map<std::string, double> out;
  for (const auto& f : w.Take()) {
    for (const auto& m : f.metric) {
      std::string key = f.name;
      for (const auto& l : m.label) {
        if (l.name != "target") key += "/" + l.value;
      }
      out[key] = m.gauge.value;
    }
  }
  return out;
}

// The server version PgBouncer reports (libpq's PQserverVersion).
int VersionNum(const std::string& version) {
  return 10000 + 100 * std::stoi(version.substr(2));
}

TEST(PgBouncerClientsCollectorTest, CountsByApplicationAndState) {
  for (const std::string version :
       {"1.18", "1.19", "1.20", "1.21", "1.22", "1.23", "1.24", "1.25"}) {
    SCOPED_TRACE(version);
    auto c = Clients();
    CollectorContext ctx;
    ctx.server_version_num = VersionNum(version);
    auto o =
        c->ParseIn(testing::LoadPgBouncerFixture(version, "show_clients"), ctx);
    ASSERT_TRUE(o.ok()) << o.status().message();
    const auto s = Samples(*c, **o);
    const std::string m = "pgconn_pgbouncer_client_connections/";
    EXPECT_EQ(s.at(m + "app/worker/api/active"), 20);
    EXPECT_EQ(s.at(m + "app/worker/api/waiting"), 25);
    EXPECT_EQ(s.at(m + "app/worker/(unset)/active"), 5);
    EXPECT_EQ(s.at(m + "app/worker/(unset)/waiting"), 0);  // every state
    EXPECT_EQ(s.at(m + "app/reporting/metabase/waiting_cancel_req"), 1);
    EXPECT_EQ(s.at(m + "pgbouncer/pgbouncer/pgconn-agent/active"), 1);
    EXPECT_EQ(s.at("pgconn_pgbouncer_client_applications_folded"), 0);
    if (version == "1.25") {
      // 1.25's "idle": the shop worker holds no server between
      // transactions; every group has the fifth state.
      EXPECT_EQ(s.at(m + "shop/worker/say \"hi\"\\/idle"), 1);
      EXPECT_EQ(s.at(m + "shop/worker/say \"hi\"\\/active"), 0);
      EXPECT_EQ(s.at(m + "app/worker/api/idle"), 0);
      EXPECT_EQ(s.size(), 5u * 5 + 1);  // five groups, five states each
    } else {
      EXPECT_EQ(s.at(m + "shop/worker/say \"hi\"\\/active"), 1);
      EXPECT_EQ(s.count(m + "app/worker/api/idle"), 0u);  // not a made-up 0
      EXPECT_EQ(s.size(), 5u * 4 + 1);  // five groups, four states each
    }
  }
}

TEST(PgBouncerClientsCollectorTest, AnIdleClientCountsWhateverTheVersionSays) {
  // A 1.25 answer read as an unknown version: the idle client is still
  // counted (as a state PgBouncer reported), but not zero-filled.
  auto c = Clients();
  auto o = c->ParseIn(testing::LoadPgBouncerFixture("1.25", "show_clients"),
                      CollectorContext{});
  ASSERT_TRUE(o.ok()) << o.status().message();
  const auto s = Samples(*c, **o);
  const std::string m = "pgconn_pgbouncer_client_connections/";
  EXPECT_EQ(s.at(m + "shop/worker/say \"hi\"\\/idle"), 1);
  EXPECT_EQ(s.count(m + "app/worker/api/idle"), 0u);
}

TEST(PgBouncerClientsCollectorTest, CapsApplications) {
  auto c = Clients();
  CollectorContext ctx;
  ctx.max_applications = 1;  // api has the most clients
  auto o =
      c->ParseIn(testing::LoadPgBouncerFixture("1.18", "show_clients"), ctx);
  ASSERT_TRUE(o.ok());
  const auto s = Samples(*c, **o);
  const std::string m = "pgconn_pgbouncer_client_connections/";
  EXPECT_EQ(s.at(m + "app/worker/api/waiting"), 25);
  EXPECT_EQ(s.at(m + "app/worker/(other)/active"), 5);
  EXPECT_EQ(s.at(m + "app/reporting/(other)/active"), 1);
  EXPECT_EQ(s.count(m + "app/reporting/metabase/active"), 0u);
  EXPECT_EQ(s.at("pgconn_pgbouncer_client_applications_folded"), 4);
}

TEST(PgBouncerClientsCollectorTest, HostileNamesAreBoundedUtf8) {
  ResultSet rs({"user", "database", "state", "application_name"}, {});
  rs.AddRow({std::string("u"), std::string("d"), std::string("active"),
             std::string(200, 'x') + "\xFF"});
  rs.AddRow({std::string("u"), std::string("d"), std::string("active"),
             std::string("bad\xC3")});
  auto c = Clients();
  auto o = c->ParseIn(rs, CollectorContext{});
  ASSERT_TRUE(o.ok());
  const auto s = Samples(*c, **o);
  const std::string m = "pgconn_pgbouncer_client_connections/d/u/";
  EXPECT_EQ(s.at(m + std::string(63, 'x') + "/active"), 1);
  EXPECT_EQ(s.at(m + "bad\xEF\xBF\xBD/active"), 1);
}

TEST(PgBouncerClientsCollectorTest, MissingColumnIsAnError) {
  ResultSet rs({"user", "database", "state"}, {});
  auto o = Clients()->ParseIn(rs, CollectorContext{});
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("application_name"), std::string::npos);
}

}  // namespace
}  // namespace pgconn
