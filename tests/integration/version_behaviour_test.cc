// What differs between PostgreSQL majors, against a real server of each
// (the version matrix runs this file once per major, CMakeLists.txt):
// background processes that are not clients (18's I/O workers), the
// reserved slots and their refusal wording (16's reserved_connections),
// and refusals by reason from every log format the version writes (stderr
// with a prefix, csvlog, jsonlog from 15), with 18's log_connections list.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "integration/eventually.h"
#include "integration/exposition_parser.h"
#include "integration/pg_server.h"
#include "integration/poll_harness.h"
#include "pgconn/session.h"
#include "runtime/poller.h"
#include "serverlog/follower.h"

namespace pgconn {
namespace {

using testing::Eventually;
using testing::ParseSamples;
using testing::TestClient;
using testing::TestPostgres;

using testing::PollHarness;

TargetConfig Target(const TestPostgres& pg, const std::string& user,
                    const std::string& password = "") {
  TargetConfig t;
  t.name = "it";
  t.host = "127.0.0.1";
  t.port = std::to_string(pg.port());
  t.user = user;
  t.dbname = "postgres";
  if (!password.empty()) t.password = Secret(password);
  return t;
}

int ServerVersion(const TestPostgres& pg) {
  auto v = pg.QueryValue("SHOW server_version_num");
  return v.ok() ? std::stoi(*v) : 0;
}

double SumOf(const std::map<std::string, double>& s, const std::string& name) {
  double total = 0;
  for (const auto& [series, v] : s) {
    if (series.rfind(name + "{", 0) == 0) total += v;
  }
  return total;
}

// Background processes (the checkpointer, autovacuum, 18's I/O workers)
// have slots of their own: they are exported by type, never counted as
// clients, whoever the agent connects as.
TEST(VersionBehaviourTest, BackgroundProcessesAreNotClients) {
  auto created = TestPostgres::Create(TestPostgres::Options{});
  ASSERT_TRUE(created.ok()) << created.status().message();
  TestPostgres& pg = **created;
  const int version = ServerVersion(pg);
  ASSERT_GE(version, 140000);
  ASSERT_TRUE(pg.Exec("CREATE ROLE plain LOGIN PASSWORD 'pw'").ok());
  auto io_workers = pg.QueryValue(
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'io worker'");
  ASSERT_TRUE(io_workers.ok());
  if (version >= 180000) {
    // io_method = worker, the default, with io_workers = 3.
    EXPECT_EQ(*io_workers, "3");
  } else {
    EXPECT_EQ(*io_workers, "0");
  }
  for (const std::string user : {"postgres", "plain"}) {
    PollHarness h(Target(pg, user, user == "plain" ? "pw" : ""));
    std::map<std::string, double> s;
    // The agent alone: the setup session above leaves asynchronously.
    ASSERT_TRUE(Eventually([&] {
      if (!h.Poll().up) return false;
      s = h.Samples();
      return s["pgconn_used_connections{target=\"it\"}"] == 1;
    })) << user
        << "\n"
        << h.Text() << h.Log();
    EXPECT_EQ(SumOf(s, "pgconn_connections"), 1) << user << "\n" << h.Text();
    EXPECT_EQ(s["pgconn_connections{target=\"it\",application=\"pgconn-agent\","
                "state=\"active\"}"],
              1)
        << user;
    const std::string io =
        "pgconn_backends{target=\"it\",backend_type=\"io worker\"}";
    const std::string unknown =
        "pgconn_backends{target=\"it\",backend_type=\"unknown\"}";
    const std::string checkpointer =
        "pgconn_backends{target=\"it\",backend_type=\"checkpointer\"}";
    // Exported on every major, 0 where there are none.
    ASSERT_EQ(s.count(io), 1u) << h.Text();
    if (user == "postgres") {
      EXPECT_EQ(s[io], std::stod(*io_workers)) << h.Text();
      EXPECT_EQ(s[checkpointer], 1);
    } else {
      // Without pg_read_all_stats every other process's type is hidden:
      // they are "unknown" backends, still not clients.
      EXPECT_EQ(s[io], 0);
      EXPECT_EQ(s[checkpointer], 0);
      EXPECT_GE(s[unknown], std::stod(*io_workers) + 3) << h.Text();
    }
    EXPECT_EQ(
        s["pgconn_backends{target=\"it\",backend_type=\"client backend\"}"], 0)
        << user;
  }
}

// The reason a client read in its error, as pgconn's reasons.
std::string ReasonOfClientError(const std::string& message) {
  if (message.find("remaining connection slots are reserved") !=
      std::string::npos) {
    return "reserved_slots";
  }
  if (message.find("too many clients already") != std::string::npos) {
    return "max_connections";
  }
  if (message.find("too many connections for role") != std::string::npos) {
    return "role_limit";
  }
  if (message.find("too many connections for database") != std::string::npos) {
    return "database_limit";
  }
  if (message.find("password authentication failed") != std::string::npos) {
    return "authentication";
  }
  return "unexpected: " + message;
}

struct LogFile {
  ServerLogFormat format;
  std::string file;
};

// Every log format this major writes, into one directory: stderr with a
// prefix, csvlog, and jsonlog from 15 on.
class VersionRefusalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Version first, from a throwaway server: the settings depend on it.
    auto probe = TestPostgres::Create(TestPostgres::Options{});
    ASSERT_TRUE(probe.ok()) << probe.status().message();
    version_ = ServerVersion(**probe);
    probe->reset();
    ASSERT_GE(version_, 140000);
    TestPostgres::Options o;
    o.max_connections = 8;
    o.superuser_reserved_connections = 1;
    std::string destinations = "stderr,csvlog";
    if (version_ >= 150000) destinations += ",jsonlog";
    o.extra_settings = {
        "logging_collector = on",
        "log_destination = '" + destinations + "'",
        "log_directory = 'log'",
        "log_filename = 'postgresql.log'",
        "log_rotation_age = 0",
        "log_rotation_size = 0",
        "log_line_prefix = '%m [%p] %q%u@%d '",
        "lc_messages = 'C'",
        // 18 turned log_connections into a list of aspects; "on" still
        // works there, the list is what 18's users write.
        version_ >= 180000 ? "log_connections = 'receipt,authorization'"
                           : "log_connections = on",
    };
    if (version_ >= 160000)
      o.extra_settings.push_back("reserved_connections = 1");
    auto pg = TestPostgres::Create(o);
    ASSERT_TRUE(pg.ok()) << pg.status().message();
    pg_ = std::move(*pg);
    for (const char* sql :
         {"CREATE ROLE worker LOGIN PASSWORD 'pw'",
          "CREATE ROLE limited LOGIN PASSWORD 'pw' CONNECTION LIMIT 1",
          "CREATE DATABASE limited_db CONNECTION LIMIT 1"}) {
      ASSERT_TRUE(pg_->Exec(sql).ok()) << sql;
    }
    if (version_ >= 160000) {
      ASSERT_TRUE(pg_->Exec("CREATE ROLE reserver LOGIN PASSWORD 'pw' IN ROLE "
                            "pg_use_reserved_connections")
                      .ok());
    }
    // The setup sessions above are gone before the test counts slots.
    ASSERT_TRUE(Eventually([&] {
      auto n = pg_->QueryValue(
          "SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
          "'client backend'");
      return n.ok() && *n == "1";  // this query's own
    }));
    // Followed from here on, as the agent would from its start.
    files_ = {{ServerLogFormat::kStderr, "postgresql.log"},
              {ServerLogFormat::kCsvlog, "postgresql.csv"}};
    if (version_ >= 150000) {
      files_.push_back({ServerLogFormat::kJsonlog, "postgresql.json"});
    }
    for (const LogFile& f : files_) {
      const std::string path = pg_->dir() + "/data/log/" + f.file;
      ASSERT_TRUE(Eventually([&] { return access(path.c_str(), R_OK) == 0; }))
          << path;
      ServerLogConfig c;
      c.path = path;
      c.format = f.format;
      followers_.push_back(std::make_unique<ServerLogFollower>(c, 50, logger_));
      followers_.back()->ReadAvailable();  // from the end, as the agent
      followers_.back()->Start(
          std::chrono::milliseconds(50),
          [](std::string_view thread, std::string_view what) {
            ADD_FAILURE() << thread << ": " << what;
          });
    }
  }
  void TearDown() override {
    for (auto& f : followers_) f->Stop();
    held_.clear();
  }

  std::string Url(const std::string& user, const std::string& password,
                  const std::string& db = "postgres") const {
    return "postgresql://" + user + (password.empty() ? "" : ":" + password) +
           "@127.0.0.1:" + std::to_string(pg_->port()) + "/" + db;
  }
  // Opens a session as the client would; counts what happened.
  bool Attempt(const std::string& url, const std::string& app) {
    auto c = TestClient::Open(url, app);
    if (c.ok()) {
      held_.push_back(std::move(*c));
      ++accepted_[app];
      return true;
    }
    ++refused_[ReasonOfClientError(c.status().message())];
    return false;
  }

  int version_ = 0;
  std::unique_ptr<TestPostgres> pg_;
  std::ostringstream log_out_;
  SystemClock clock_;
  Logger logger_{&log_out_, LogLevel::kDebug, LogFormat::kLogfmt, &clock_};
  std::vector<LogFile> files_;
  std::vector<std::unique_ptr<ServerLogFollower>> followers_;
  std::vector<std::unique_ptr<TestClient>> held_;
  std::map<std::string, int> accepted_;  // by application
  std::map<std::string, int> refused_;   // by reason, as the clients saw
};

TEST_F(VersionRefusalsTest, EveryReasonFromEveryLogFormat) {
  // authentication: a wrong password.
  EXPECT_FALSE(Attempt(Url("worker", "wrong"), "it-auth"));
  // role_limit and database_limit: one session each, then one too many.
  EXPECT_TRUE(Attempt(Url("limited", "pw"), "it-limited"));
  EXPECT_FALSE(Attempt(Url("limited", "pw"), "it-limited"));
  EXPECT_TRUE(Attempt(Url("worker", "pw", "limited_db"), "it-limited"));
  EXPECT_FALSE(Attempt(Url("worker", "pw", "limited_db"), "it-limited"));
  // reserved_slots: ordinary logins until refused. 8 slots, 1 reserved for
  // superusers, and from 16 on 1 for pg_use_reserved_connections.
  int ordinary = 2;  // the two above
  while (ordinary < 20 && Attempt(Url("worker", "pw"), "it-worker")) {
    ++ordinary;
  }
  EXPECT_EQ(ordinary, version_ >= 160000 ? 6 : 7);
  EXPECT_EQ(refused_["reserved_slots"], 1);
  if (version_ >= 160000) {
    // A member of pg_use_reserved_connections takes its reserved slot;
    // the next one finds only the superuser's left ("...reserved for roles
    // with the SUPERUSER attribute"), the same reason for pgconn.
    EXPECT_TRUE(Attempt(Url("reserver", "pw"), "it-reserver"));
    EXPECT_FALSE(Attempt(Url("reserver", "pw"), "it-reserver"));
    EXPECT_EQ(refused_["reserved_slots"], 2);
  }
  // max_connections: the superuser takes the last slot, then none is left.
  EXPECT_TRUE(Attempt(Url("postgres", ""), "it-super"));
  EXPECT_FALSE(Attempt(Url("postgres", ""), "it-super"));
  EXPECT_EQ(refused_["max_connections"], 1);
  EXPECT_EQ(refused_["authentication"], 1);
  EXPECT_EQ(refused_["role_limit"], 1);
  EXPECT_EQ(refused_["database_limit"], 1);
  for (const auto& [reason, n] : refused_) {
    EXPECT_EQ(reason.rfind("unexpected", 0), std::string::npos) << reason;
  }
  int accepted_total = 0;
  for (const auto& [app, n] : accepted_) accepted_total += n;
  int refused_total = 0;
  for (const auto& [reason, n] : refused_) refused_total += n;
  EXPECT_EQ(refused_total, version_ >= 160000 ? 6 : 5);

  for (size_t i = 0; i < followers_.size(); ++i) {
    const std::string format = files_[i].file;
    ServerLogFollower& f = *followers_[i];
    // Every refusal by its reason, and every session that got in as
    // authorized (a login refused after "connection authorized" is not).
    const bool counted = Eventually([&] {
      const ServerLogCounts c = f.Counts();
      uint64_t refused = 0, authorized = 0;
      for (uint64_t n : c.refused) refused += n;
      // The test's own sessions (the harness's setup sessions may be
      // logged just after the follower started).
      for (const auto& [app, n] : c.authorized) {
        if (app.rfind("it-", 0) == 0) authorized += n;
      }
      return refused == static_cast<uint64_t>(refused_total) &&
             authorized == static_cast<uint64_t>(accepted_total);
    });
    const ServerLogCounts c = f.Counts();
    EXPECT_TRUE(counted) << format;
    EXPECT_TRUE(c.up) << format;
    for (size_t r = 0; r < kRefusalReasons.size(); ++r) {
      const std::string reason(kRefusalReasons[r]);
      EXPECT_EQ(c.refused[r], static_cast<uint64_t>(refused_[reason]))
          << format << " " << reason;
    }
    for (const auto& [app, n] : accepted_) {
      auto it = c.authorized.find(app);
      EXPECT_EQ(it == c.authorized.end() ? 0u : it->second,
                static_cast<uint64_t>(n))
          << format << " " << app;
    }
    // Refused logins of these applications were authorized first, by
    // PostgreSQL's order of checks, and are not counted.
    EXPECT_EQ(c.authorized.count("it-auth"), 0u) << format;
  }
}

}  // namespace
}  // namespace pgconn
