// The one pg_stat_activity scan (agent/postgres/activity_scan.h) against the
// four statements it replaced, on a real server with mixed applications,
// states, databases, roles and lock waiters: both run in one transaction,
// so they read the same snapshot of the view and the same now(), and every
// collector must make the same observation of either.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "integration/eventually.h"
#include "integration/pg_server.h"
#include "pgconn/session.h"
#include "postgres/observations.h"
#include "postgres/registry.h"
#include "postgres/sql_literal.h"

namespace pgconn {
namespace {

using testing::Eventually;
using testing::TestClient;
using testing::TestPostgres;

// The definitions before the scan (the four statements, each reading
// pg_stat_activity and folding on the server), kept verbatim (apart from
// the parameters) as the reference; but without "AND pid <> pg_backend_pid()"
// in the client condition, since the agent counts its own session now.
constexpr char kOldClientCondition[] =
    "(backend_type IS NOT DISTINCT FROM 'client backend' OR (backend_type IS "
    "NULL AND datname IS NOT NULL AND usename IS NOT NULL))";
constexpr char kOldClientConditionA[] =
    "(a.backend_type IS NOT DISTINCT FROM 'client backend' OR "
    "(a.backend_type IS NULL AND a.datname IS NOT NULL AND a.usename IS NOT "
    "NULL))";

std::string OldActivity(int max_applications,
                        const std::vector<std::string>& pinned) {
  std::string pinned_first;
  if (!pinned.empty()) {
    std::string list;
    for (const std::string& p : pinned) {
      if (!list.empty()) list += ", ";
      list += detail::SqlLiteral(p);
    }
    pinned_first = "app IN (" + list + ") DESC, ";
  }
  const std::string n = std::to_string(max_applications);
  return std::string(
             "WITH a AS ("
             " SELECT coalesce(application_name, '') AS app,"
             " coalesce(state, 'unknown') AS state,"
             " CASE WHEN client_port = -1 THEN 'local'"
             " ELSE host(client_addr) END AS addr,"
             " wait_event_type, state_change, xact_start"
             " FROM pg_stat_activity WHERE ") +
         kOldClientCondition +
         "), ranked AS ("
         " SELECT app, row_number() OVER (ORDER BY " +
         pinned_first +
         "count(*) DESC, app) AS rn FROM a GROUP BY app"
         "), folded AS ("
         " SELECT CASE WHEN ranked.rn <= " +
         n +
         " THEN a.app END AS application,"
         " a.state, a.addr, a.wait_event_type, a.state_change, a.xact_start"
         " FROM a JOIN ranked USING (app))"
         " SELECT application, state, count(*) AS connections,"
         " count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock_waiting,"
         " greatest(coalesce(extract(epoch FROM now() - min(state_change)), "
         "0), 0) AS oldest_state_seconds,"
         " greatest(coalesce(extract(epoch FROM now() - min(xact_start)), "
         "0), 0) AS oldest_transaction_seconds,"
         " count(DISTINCT addr) AS client_addresses,"
         " GROUPING(state) AS per_application,"
         " (SELECT count(*) FROM ranked WHERE rn > " +
         n +
         ") AS folded_applications FROM folded"
         " GROUP BY GROUPING SETS ((application, state), (application))";
}

std::string OldFolded(const std::string& per_name, int max_names) {
  const std::string n = std::to_string(max_names);
  return "WITH g AS (" + per_name +
         "), r AS ( SELECT name, connection_limit, connections,"
         " (row_number() OVER (ORDER BY connections DESC, name) <= " +
         n +
         " OR connection_limit >= 0) AS kept FROM g)"
         " SELECT CASE WHEN kept THEN name END AS name,"
         " CASE WHEN kept THEN connection_limit END AS connection_limit,"
         " sum(connections) AS connections FROM r GROUP BY 1, 2";
}

std::string OldDatabases(int max_databases) {
  return OldFolded(
      std::string("SELECT d.datname AS name, d.datconnlimit AS "
                  "connection_limit, count(a.pid) AS connections"
                  " FROM pg_database d LEFT JOIN pg_stat_activity a"
                  " ON a.datid = d.oid AND ") +
          kOldClientConditionA +
          " WHERE d.datallowconn GROUP BY d.datname, d.datconnlimit",
      max_databases);
}

std::string OldUsers(int max_users) {
  return OldFolded(std::string("SELECT r.rolname AS name, r.rolconnlimit AS "
                               "connection_limit, count(a.pid) AS connections"
                               " FROM pg_roles r LEFT JOIN pg_stat_activity a"
                               " ON a.usesysid = r.oid AND ") +
                       kOldClientConditionA +
                       " WHERE r.rolcanlogin GROUP BY r.rolname, r.rolconnlimit"
                       " HAVING count(a.pid) > 0 OR r.rolconnlimit >= 0",
                   max_users);
}

std::string OldBackends() {
  return std::string(
             "SELECT coalesce(backend_type, 'unknown') AS backend_type,"
             " count(*) AS backends FROM pg_stat_activity WHERE NOT (") +
         kOldClientCondition + ") AND pid <> pg_backend_pid() GROUP BY 1";
}

template <typename T>
T Observe(const ResultSet& rs) {
  const CollectorEntry* e = FindCollectorEntry(PostgresCollectors(), T::kName);
  EXPECT_NE(e, nullptr);
  if (e == nullptr) return T{};
  auto parsed = e->create()->Parse(rs);
  EXPECT_TRUE(parsed.ok()) << T::kName << ": " << parsed.status().message();
  if (!parsed.ok()) return T{};
  const auto* part = dynamic_cast<const Part<T>*>(parsed->get());
  EXPECT_NE(part, nullptr);
  return part == nullptr ? T{} : part->value;
}

// What the activity collector made of the old statement's rows (it folded
// on the server): one row per (application, state) and one per
// application (per_application = 1) with its distinct addresses; NULL
// application is the folded group.
Activity ObserveOldActivity(const ResultSet& rs) {
  Activity out;
  for (const auto& row : rs.rows()) {
    auto cell = [&](const char* column) {
      return CellText(row, rs.ColumnIndex(column), "0");
    };
    std::string app = !row[0].has_value() ? std::string(kOtherLabel)
                      : row[0]->empty()   ? std::string(kUnsetApplication)
                                          : *row[0];
    out.folded_applications = std::stoll(cell("folded_applications"));
    if (cell("per_application") == "1") {
      out.applications.push_back({app, std::stoll(cell("client_addresses"))});
      continue;
    }
    ActivityGroup g;
    g.application = app;
    g.state = CellText(row, rs.ColumnIndex("state"), "unknown");
    g.connections = std::stoll(cell("connections"));
    g.lock_waiting = std::stoll(cell("lock_waiting"));
    g.oldest_state_seconds = std::stod(cell("oldest_state_seconds"));
    g.oldest_transaction_seconds =
        std::stod(cell("oldest_transaction_seconds"));
    out.groups.push_back(std::move(g));
  }
  Summarize(&out);
  return out;
}

// What the activity collector makes of the scan's rows in a poll with ctx.
Activity ObserveActivity(const ResultSet& rs, const CollectorContext& ctx) {
  auto parsed = FindCollectorEntry(PostgresCollectors(), "activity")
                    ->create()
                    ->ParseIn(rs, ctx);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  if (!parsed.ok()) return Activity{};
  const auto* part = dynamic_cast<const Part<Activity>*>(parsed->get());
  return part == nullptr ? Activity{} : part->value;
}

// The rows of `rs` as sorted text, to compare two results. A background
// process's wait event is its own from one read of the view to the next,
// even inside one transaction (18's background writer went from Activity
// to IO between two statements of one transaction in 4 of 40 runs): the
// rows of processes that are not client backends are compared by
// everything else, their counts summed over their wait event types.
std::vector<std::string> RowTexts(const ResultSet& rs) {
  constexpr size_t kClient = 7, kWaitEventType = 8, kConnections = 9,
                   kLockWaiting = 10;
  std::map<std::string, std::pair<int64_t, int64_t>> background;
  std::vector<std::string> out;
  for (const auto& row : rs.rows()) {
    const bool merged = row.size() > kLockWaiting && row[kClient] &&
                        *row[kClient] == "f" && row[kConnections] &&
                        row[kLockWaiting];
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (merged && (i == kConnections || i == kLockWaiting)) continue;
      const auto& cell = row[i];
      line += merged && i == kWaitEventType ? std::string("(any)")
                                            : (cell ? *cell : "<null>");
      line += '|';
    }
    if (merged) {
      auto& [connections, lock_waiting] = background[line];
      connections += std::stoll(*row[kConnections]);
      lock_waiting += std::stoll(*row[kLockWaiting]);
    } else {
      out.push_back(std::move(line));
    }
  }
  for (const auto& [line, counts] : background) {
    out.push_back(line + std::to_string(counts.first) + "|" +
                  std::to_string(counts.second) + "|");
  }
  std::sort(out.begin(), out.end());
  return out;
}

void ExpectSameActivity(Activity old_a, Activity new_a) {
  auto by_key = [](const ActivityGroup& x, const ActivityGroup& y) {
    return std::tie(x.application, x.state) < std::tie(y.application, y.state);
  };
  std::sort(old_a.groups.begin(), old_a.groups.end(), by_key);
  std::sort(new_a.groups.begin(), new_a.groups.end(), by_key);
  ASSERT_EQ(old_a.groups.size(), new_a.groups.size());
  for (size_t i = 0; i < old_a.groups.size(); ++i) {
    const ActivityGroup& o = old_a.groups[i];
    const ActivityGroup& n = new_a.groups[i];
    SCOPED_TRACE(o.application + "/" + o.state);
    EXPECT_EQ(o.application, n.application);
    EXPECT_EQ(o.state, n.state);
    EXPECT_EQ(o.connections, n.connections);
    EXPECT_EQ(o.lock_waiting, n.lock_waiting);
    EXPECT_DOUBLE_EQ(o.oldest_state_seconds, n.oldest_state_seconds);
    EXPECT_DOUBLE_EQ(o.oldest_transaction_seconds,
                     n.oldest_transaction_seconds);
  }
  auto by_app = [](const ApplicationInfo& x, const ApplicationInfo& y) {
    return x.application < y.application;
  };
  std::sort(old_a.applications.begin(), old_a.applications.end(), by_app);
  std::sort(new_a.applications.begin(), new_a.applications.end(), by_app);
  ASSERT_EQ(old_a.applications.size(), new_a.applications.size());
  for (size_t i = 0; i < old_a.applications.size(); ++i) {
    EXPECT_EQ(old_a.applications[i].application,
              new_a.applications[i].application);
    EXPECT_EQ(old_a.applications[i].client_addresses,
              new_a.applications[i].client_addresses)
        << old_a.applications[i].application;
  }
  EXPECT_EQ(old_a.folded_applications, new_a.folded_applications);
  EXPECT_EQ(old_a.summary.used, new_a.summary.used);
}

void ExpectSameGroups(std::vector<LimitedGroup> o,
                      std::vector<LimitedGroup> n) {
  auto by_name = [](const LimitedGroup& x, const LimitedGroup& y) {
    return x.name < y.name;
  };
  std::sort(o.begin(), o.end(), by_name);
  std::sort(n.begin(), n.end(), by_name);
  ASSERT_EQ(o.size(), n.size());
  for (size_t i = 0; i < o.size(); ++i) {
    EXPECT_EQ(o[i].name, n[i].name);
    EXPECT_EQ(o[i].connections, n[i].connections) << o[i].name;
    EXPECT_EQ(o[i].limit, n[i].limit) << o[i].name;
  }
}

TEST(ActivityScanTest, AnswersAsTheFourStatementsItReplaced) {
  TestPostgres::Options options;
  options.max_connections = 60;
  auto created = TestPostgres::Create(options);
  ASSERT_TRUE(created.ok()) << created.status().message();
  TestPostgres& pg = **created;
  for (const char* sql : {
           "CREATE DATABASE scan_a",
           "CREATE DATABASE scan_b CONNECTION LIMIT 10",
           "CREATE ROLE scan_r1 LOGIN PASSWORD 'pw'",
           "CREATE ROLE scan_r2 LOGIN PASSWORD 'pw' CONNECTION LIMIT 8",
           "CREATE ROLE scan_idle_role LOGIN CONNECTION LIMIT 3",
           "CREATE TABLE scan_locked (id int)",
       }) {
    ASSERT_TRUE(pg.Exec(sql).ok()) << sql;
  }
  auto url = [&](const std::string& user, const std::string& db) {
    return "postgresql://" + user +
           ":pw@127.0.0.1:" + std::to_string(pg.port()) + "/" + db;
  };
  std::vector<std::unique_ptr<TestClient>> held;
  auto open = [&](const std::string& user, const std::string& db,
                  const std::string& app) -> TestClient* {
    auto c = TestClient::Open(url(user, db), app);
    EXPECT_TRUE(c.ok()) << c.status().message();
    if (!c.ok()) return nullptr;
    held.push_back(std::move(*c));
    return held.back().get();
  };
  // web: idle and active; batch: in a transaction, one aborted; a lock
  // holder and its waiters; an empty name; a tail of small applications
  // across databases and roles.
  for (int i = 0; i < 4; ++i)
    ASSERT_NE(open("postgres", "postgres", "web"), nullptr);
  for (int i = 0; i < 2; ++i) {
    TestClient* c = open("scan_r1", "scan_a", "web");
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->Send("SELECT pg_sleep(60)").ok());
  }
  for (int i = 0; i < 3; ++i) {
    TestClient* c = open("scan_r2", "scan_b", "batch");
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->Exec("BEGIN; SELECT 1").ok());
  }
  {
    TestClient* c = open("scan_r2", "scan_b", "batch");
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->Exec("BEGIN").ok());
    EXPECT_FALSE(c->Exec("SELECT 1/0").ok());
  }
  TestClient* locker = open("postgres", "postgres", "locker");
  ASSERT_NE(locker, nullptr);
  ASSERT_TRUE(
      locker->Exec("BEGIN; LOCK TABLE scan_locked IN ACCESS EXCLUSIVE MODE")
          .ok());
  for (int i = 0; i < 2; ++i) {
    TestClient* c = open("postgres", "postgres", "waiter");
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->Send("SELECT * FROM scan_locked").ok());
  }
  ASSERT_NE(open("scan_r1", "scan_b", ""), nullptr);
  for (int i = 0; i < 6; ++i) {
    ASSERT_NE(
        open(i % 2 == 0 ? "scan_r1" : "scan_r2",
             i % 3 == 0 ? "scan_a" : "postgres", "tail-" + std::to_string(i)),
        nullptr);
  }
  ASSERT_TRUE(Eventually([&] {
    auto n = pg.QueryValue(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " OR (application_name = 'web' AND state = 'active')");
    return n.ok() && *n == "4";
  }));

  TargetConfig target;
  target.name = "scan";
  target.host = "127.0.0.1";
  target.port = std::to_string(pg.port());
  target.user = "postgres";
  target.dbname = "postgres";
  PgSessionFactory factory;
  auto superuser = factory.Create(target, SessionOptions{});
  // A role without pg_read_all_stats sees other roles' backends with
  // backend_type and state NULL: the client condition's other half.
  TargetConfig unprivileged_target = target;
  unprivileged_target.user = "scan_r1";
  unprivileged_target.password = Secret("pw");
  auto unprivileged = factory.Create(unprivileged_target, SessionOptions{});
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  ASSERT_TRUE(superuser->Connect(deadline).ok());
  ASSERT_TRUE(unprivileged->Connect(deadline).ok());

  struct Case {
    int max_applications;
    std::vector<std::string> pinned;
    int max_databases;
    int max_users;
  };
  int case_number = 0;
  for (Session* session : {superuser.get(), unprivileged.get()}) {
    const bool privileged = session == superuser.get();
    SCOPED_TRACE(privileged ? "superuser" : "unprivileged role");
    for (const Case& c : std::vector<Case>{
             {50, {}, 100, 100},                       // nothing folded
             {3, {}, 1, 1},                            // everything folds
             {3, {"tail-5", "it's \\ odd"}, 2, 2},     // a pinned small one
             {1, {"web", "batch", "tail-0"}, 100, 1},  // more pinned than room
             {0, {}, 100, 100},                        // all in "(other)"
         }) {
      SCOPED_TRACE("max_applications " + std::to_string(c.max_applications));
      CollectorContext ctx;
      ctx.max_applications = c.max_applications;
      ctx.pinned_applications = c.pinned;
      ctx.max_databases = c.max_databases;
      ctx.max_users = c.max_users;
      ctx.collectors = {"activity", "databases", "users", "backends"};
      // The previous scan a second ago: the prepared form gets it as $1.
      ctx.previous_scan_time_us =
          std::chrono::duration_cast<std::chrono::microseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count() -
          1000000;
      const auto collector =
          FindCollectorEntry(PostgresCollectors(), "activity")->create();
      const std::string scan = collector->Statement(ctx);
      const ParameterizedStatement form = collector->Parameterized(ctx);
      const std::string name = "scan_case_" + std::to_string(++case_number);
      // One transaction: one snapshot of the view, one now().
      auto r = session->Execute(
          "BEGIN;\n" + scan + ";\n" +
              OldActivity(c.max_applications, c.pinned) + ";\n" +
              OldDatabases(c.max_databases) + ";\n" + OldUsers(c.max_users) +
              ";\n" + OldBackends() + ";\nPREPARE " + name + "(" +
              form.parameter_types.at(0) + ") AS " + form.sql + ";\nEXECUTE " +
              name + "(" + form.arguments.at(0) + ");\nCOMMIT",
          deadline);
      ASSERT_TRUE(r.ok()) << r.status().message();
      ASSERT_EQ(r->size(), 9u);
      const ResultSet& shared = (*r)[1];
      // The prepared form answers as the statement does.
      EXPECT_EQ(RowTexts((*r)[7]), RowTexts(shared));
      const Activity old_activity = ObserveOldActivity((*r)[2]);
      const Activity new_activity = ObserveActivity(shared, ctx);
      ExpectSameActivity(old_activity, new_activity);
      int64_t own = 0;
      for (const ActivityGroup& g : new_activity.groups) {
        own += g.own_connections;
      }
      EXPECT_EQ(own, 1) << "the agent's session, marked as its own";
      ExpectSameGroups(Observe<DatabaseConnections>((*r)[3]).groups,
                       Observe<DatabaseConnections>(shared).groups);
      ExpectSameGroups(Observe<UserConnections>((*r)[4]).groups,
                       Observe<UserConnections>(shared).groups);
      auto old_backends = Observe<OtherBackends>((*r)[5]).backends;
      auto new_backends = Observe<OtherBackends>(shared).backends;
      auto by_type = [](const BackendTypeCount& x, const BackendTypeCount& y) {
        return x.backend_type < y.backend_type;
      };
      std::sort(old_backends.begin(), old_backends.end(), by_type);
      std::sort(new_backends.begin(), new_backends.end(), by_type);
      ASSERT_EQ(old_backends.size(), new_backends.size());
      for (size_t i = 0; i < old_backends.size(); ++i) {
        EXPECT_EQ(old_backends[i].backend_type, new_backends[i].backend_type);
        EXPECT_EQ(old_backends[i].count, new_backends[i].count);
      }
      // The fixture is what it claims to be: the comparison saw every kind
      // of row (20 client backends, the other session and the agent's).
      EXPECT_EQ(old_activity.summary.used, 22);
      if (privileged) {
        EXPECT_EQ(old_activity.summary.lock_waiting, 2);
        EXPECT_GE(old_activity.summary.idle_in_transaction, 5);
        EXPECT_FALSE(old_backends.empty());
      } else {
        // Only its own role's sessions (scan_r1's) have a state.
        int64_t unknown = 0;
        for (const ActivityGroup& g : old_activity.groups) {
          if (g.state == "unknown") unknown += g.connections;
        }
        EXPECT_GE(unknown, 12);
      }
    }
  }
  for (const auto& c : held) {
    PGcancel* cancel = PQgetCancel(c->conn());
    char err[256];
    PQcancel(cancel, err, sizeof(err));
    PQfreeCancel(cancel);
  }
}

}  // namespace
}  // namespace pgconn
