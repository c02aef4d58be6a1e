#include "pgconn/plan_command.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "fakes/fake_clock.h"
#include "fakes/fake_session.h"

namespace pgconn {
namespace {

std::string Fixture(const std::string& name) {
  return std::string(PGCONN_TEST_DATA_DIR) + "/fixtures/env/" + name;
}

struct Outcome {
  int code = -1;
  std::string out, err;
};

// Runs `plan` with a scripted server and environment.
class PlanRunner {
 public:
  PlanRunner() {
    server_.answer =
        [this](std::string_view) -> Result<std::vector<ResultSet>> {
      auto s = [](int64_t v) {
        return std::optional<std::string>(std::to_string(v));
      };
      return std::vector<ResultSet>{
          ResultSet({"server_version_num", "max_connections",
                     "superuser_reserved_connections", "reserved_connections"},
                    {{s(160004), s(max_connections), s(superuser_reserved),
                      s(reserved_connections)}})};
    };
  }

  Outcome Run(const std::vector<std::string>& args) {
    PlanCommandContext ctx;
    ctx.env = [this](std::string_view name) -> std::optional<std::string> {
      auto it = env.find(std::string(name));
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    ctx.sessions = &factory_;
    ctx.clock = &clock_;
    std::ostringstream out, err;
    Outcome o;
    o.code = RunPlanCommand(args, ctx, out, err);
    o.out = out.str();
    o.err = err.str();
    return o;
  }

  FakeServer& server() { return server_; }

  std::map<std::string, std::string> env;
  int64_t max_connections = 200;
  int64_t superuser_reserved = 3;
  int64_t reserved_connections = 2;

 private:
  FakeServer server_;
  FakeSessionFactory factory_{&server_};
  FakeClock clock_;
};

// The guide's "Scaling to 10 Workers" against PostgreSQL's defaults: the
// README shows exactly this output.
TEST(PlanCommandTest, AnswersTheGuidesScalingExample) {
  PlanRunner r;
  const Outcome o = r.Run({"--workers", "10", "--pool-max", "10"});
  EXPECT_EQ(o.code, kPlanDoesNotFit);
  EXPECT_EQ(o.err, "");
  EXPECT_EQ(
      o.out,
      R"(Capacity plan: 10 workers × DB_POOL_MAX 10 against max_connections 100

Inputs
  workers               10       --workers
  DB_POOL_MAX           10       --pool-max
  DB_POOL_MIN           0        default (--pool-min)
  overhead              0        default (--overhead)
  monitoring agents     1        pgconn itself (--monitoring-agents)
  max_connections       100      PostgreSQL's default
  reserved              3        PostgreSQL's default superuser_reserved_connections
  headroom              80 %     the guide's rule (--headroom)

Budget
  total connections     101      10 workers × DB_POOL_MAX 10 + overhead 0 + 1 agent
  kept open when idle   0        10 workers × DB_POOL_MIN 0
  usable connections    97       max_connections 100 - reserved 3
  headroom line         77       80 % of 97, rounded down
  utilization           104.1 %  of usable
  verdict               over_limit
                        101 > 97 usable: full pools are refused ("sorry, too many clients already")

Options
  1. reduce_pool_max         DB_POOL_MAX=7
                             the largest that fits: 10 × 7 + 0 + 1 agent = 71 connections, 73.2 % of usable
  2. raise_max_connections   max_connections=130
                             the least that fits: +30 connections; needs a PostgreSQL restart
                             about +300 MB of server memory at 10 MB per connection
  3. use_pgbouncer           default_pool_size=25
                             26 connections to PostgreSQL, 26.8 % of usable (ok)
                             workers keep 10 × 10 = 100 logical connections (max_client_conn 1000)
                             the guide recommends PgBouncer from 10 workers

Notes
  - max_connections 100 is PostgreSQL's default; no database was read. Give --max-connections, or point --config.file, DATABASE_URL or DB_HOST at the database to read it.
  - overhead 0: the guide reserves 10-20 connections for the bot, the interface and migrations (--overhead).
)");
  EXPECT_EQ(r.server().connects, 0);
}

TEST(PlanCommandTest, GuidesScalingExampleAsJson) {
  PlanRunner r;
  const Outcome o = r.Run({"--workers=10", "--pool-max=10", "--output=json",
                           "--overhead=0", "--max-connections=100"});
  EXPECT_EQ(o.code, kPlanDoesNotFit);
  EXPECT_EQ(o.out, R"({
  "total_connections": 101,
  "usable_connections": 97,
  "utilization_ratio": 1.041237113402062,
  "verdict": "over_limit",
  "headroom_connections": 77,
  "worker_connections": 100,
  "min_connections": 0,
  "inputs": {
    "workers": 10,
    "pool_max": 10,
    "pool_min": 0,
    "overhead": 0,
    "monitoring_agents": 1,
    "max_connections": 100,
    "reserved": 3,
    "headroom_ratio": 0.8,
    "memory_per_connection_bytes": 10485760,
    "pgbouncer_pool_size": 25,
    "pgbouncer_pool_max": 10,
    "pgbouncer_max_client_conn": 1000,
    "sources": {
      "headroom": "default",
      "max_connections": "flag",
      "monitoring_agents": "default",
      "overhead": "flag",
      "pool_max": "flag",
      "pool_min": "default",
      "reserved": "default",
      "workers": "flag"
    }
  },
  "options": [
    {
      "kind": "reduce_pool_max",
      "pool_max": 7,
      "total_connections": 71,
      "utilization_ratio": 0.7319587628865979
    },
    {
      "kind": "raise_max_connections",
      "max_connections": 130,
      "additional_connections": 30,
      "additional_memory_bytes": 314572800,
      "total_memory_bytes": 1363148800,
      "restart_required": true,
      "beyond_postgres_limit": false
    },
    {
      "kind": "use_pgbouncer",
      "default_pool_size": 25,
      "server_connections": 26,
      "utilization_ratio": 0.26804123711340205,
      "verdict": "ok",
      "pool_max": 10,
      "logical_connections": 100,
      "max_client_conn": 1000,
      "logical_connections_fit": true,
      "recommended": true
    }
  ],
  "findings": [],
  "notes": []
}
)");
}

// The guide's own numbers, with its own assumptions: no reserved slots
// ("80 % of max_connections"), PgBouncer workers at DB_POOL_MAX=5, and no
// monitoring agent.
TEST(PlanCommandTest, ReproducesTheGuidesThreeOptions) {
  PlanRunner r;
  const Outcome o = r.Run({"--workers", "10", "--pool-max", "10", "--reserved",
                           "0", "--overhead", "0", "--pgbouncer-pool-max", "5",
                           "--monitoring-agents", "0", "--output", "json"});
  EXPECT_EQ(o.code, kPlanDoesNotFit);  // 100 of 100: past the headroom
  EXPECT_NE(o.out.find("\"verdict\": \"over_headroom\""), std::string::npos);
  // Option 1: "DB_POOL_MAX=8, Total: 10 × 8 = 80 connections".
  EXPECT_NE(o.out.find("\"pool_max\": 8,\n      \"total_connections\": 80,"),
            std::string::npos)
      << o.out;
  // Option 3: "Total to PostgreSQL: 25 connections ... 10 × 5 = 50 logical".
  EXPECT_NE(o.out.find("\"server_connections\": 25,"), std::string::npos);
  EXPECT_NE(o.out.find("\"logical_connections\": 50,"), std::string::npos);
  // Option 1 and 2 applied: each fits.
  EXPECT_EQ(r.Run({"--workers", "10", "--pool-max", "8", "--reserved", "0",
                   "--monitoring-agents", "0"})
                .code,
            kPlanFits);
  // With pgconn connected, 10 × 8 + 1 is past the line of 80.
  EXPECT_EQ(
      r.Run({"--workers", "10", "--pool-max", "8", "--reserved", "0"}).code,
      kPlanDoesNotFit);
  EXPECT_EQ(r.Run({"--workers", "10", "--pool-max", "10", "--max-connections",
                   "200", "--reserved", "0"})
                .code,
            kPlanFits);
  // "Scaling to 5 Workers ... Safe with overhead", the agent included.
  EXPECT_EQ(
      r.Run({"--workers", "5", "--pool-max", "10", "--overhead", "20"}).code,
      kPlanFits);
}

TEST(PlanCommandTest, ScaleTableReproducesTheGuidesTable) {
  PlanRunner r;
  const Outcome o =
      r.Run({"--scale-table", "--pool-max", "10", "--max-connections", "100",
             "--overhead", "0", "--monitoring-agents", "0"});
  EXPECT_EQ(o.code, kPlanFits);
  EXPECT_EQ(o.out,
            "Scale table: DB_POOL_MAX 10, overhead 0, max_connections 100 "
            "(reserved 3, 97 usable, headroom line 77)\n"
            "\n"
            "  workers    total  of usable  verdict        largest DB_POOL_MAX "
            "that fits\n"
            "        1       10     10.3 %  ok             77\n"
            "        5       50     51.5 %  ok             15\n"
            "       10      100    103.1 %  over_limit     7\n"
            "       20      200    206.2 %  over_limit     3\n");
  const Outcome range =
      r.Run({"--scale-table=1-3", "--pool-max=40", "--output=json",
             "--max-connections=100", "--overhead=0", "--monitoring-agents=0"});
  EXPECT_EQ(range.code, kPlanFits);
  EXPECT_NE(range.out.find("\"workers\": 3,\n      \"total_connections\": 120,"
                           "\n      \"utilization_ratio\": 1.2371134020618557,"
                           "\n      \"verdict\": \"over_limit\",\n      "
                           "\"largest_pool_max\": 25"),
            std::string::npos)
      << range.out;
}

struct ExitCase {
  std::string name;
  std::vector<std::string> args;
  int want_code;
  std::string want_err;  // exact, or empty
};

TEST(PlanCommandTest, ExitCodesAndErrors) {
  const std::string legacy = Fixture("legacy-mode.env");
  const std::vector<ExitCase> cases = {
      {"fits", {"--workers", "10", "--pool-max", "7"}, kPlanFits, ""},
      {"at the headroom line",
       {"--workers", "7", "--pool-max", "11", "--max-connections", "100",
        "--monitoring-agents", "0"},
       kPlanFits,
       ""},
      {"at the headroom line with the agent",
       {"--workers", "2", "--pool-max", "38", "--max-connections", "100"},
       kPlanFits,
       ""},
      {"the agent takes the last slot under the line",
       {"--workers", "7", "--pool-max", "11", "--max-connections", "100"},
       kPlanDoesNotFit,
       ""},
      // Issue 10: 7 pool connections + the agent in 10 - 3 reserved.
      {"the agent's slot at the limit",
       {"--workers", "1", "--pool-max", "7", "--max-connections", "10",
        "--headroom", "1"},
       kPlanDoesNotFit,
       ""},
      {"without the agent it fits",
       {"--workers", "1", "--pool-max", "7", "--max-connections", "10",
        "--headroom", "1", "--monitoring-agents", "0"},
       kPlanFits,
       ""},
      {"negative agents",
       {"--pool-max", "5", "--monitoring-agents", "-1"},
       kPlanBadInput,
       "pgconn-agent plan: --monitoring-agents -1 is outside [0, 1000]\n"},
      {"one above the headroom line",
       {"--workers", "2", "--pool-max", "39", "--max-connections", "100"},
       kPlanDoesNotFit,
       ""},
      {"over the limit",
       {"--workers", "10", "--pool-max", "10"},
       kPlanDoesNotFit,
       ""},
      {"not a number",
       {"--pool-max", "x"},
       kPlanBadInput,
       "pgconn-agent plan: flag --pool-max=x: not a whole number\n"},
      {"no workers",
       {"--workers", "0", "--pool-max", "5"},
       kPlanBadInput,
       "pgconn-agent plan: --workers 0 is outside [1, 100000]\n"},
      {"unknown flag",
       {"--pool-max", "5", "--bogus"},
       kPlanBadInput,
       "pgconn-agent plan: unknown flag --bogus (see plan --help)\n"},
      {"stray word",
       {"now"},
       kPlanBadInput,
       "pgconn-agent plan: unexpected argument \"now\" (see plan --help)\n"},
      {"missing value",
       {"--workers"},
       kPlanBadInput,
       "pgconn-agent plan: flag --workers needs a value\n"},
      {"no pool max",
       {"--workers", "10"},
       kPlanBadInput,
       "pgconn-agent plan: give --pool-max (the workers' DB_POOL_MAX) or "
       "--env-file\n"},
      {"pool min above max",
       {"--pool-min", "12", "--pool-max", "10"},
       kPlanBadInput,
       "pgconn-agent plan: --pool-min 12 is larger than --pool-max 10: the "
       "pool refuses to start\n"},
      {"bad output",
       {"--pool-max", "5", "--output", "xml"},
       kPlanBadInput,
       "pgconn-agent plan: flag --output=xml: not one of table, json, env\n"},
      {"bad headroom",
       {"--pool-max", "5", "--headroom", "most"},
       kPlanBadInput,
       "pgconn-agent plan: flag --headroom=most: not a number (such as 0.8)\n"},
      {"headroom out of range",
       {"--pool-max", "5", "--headroom", "1.2"},
       kPlanBadInput,
       "pgconn-agent plan: --headroom 1.2 is outside (0, 1]\n"},
      {"memory without a unit",
       {"--pool-max", "5", "--memory-per-connection", "10"},
       kPlanBadInput,
       "pgconn-agent plan: flag --memory-per-connection: \"10\" is not a "
       "memory size (examples: 10MB, 512kB, 1GB)\n"},
      {"reserved too large",
       {"--pool-max", "5", "--max-connections", "10", "--reserved", "10"},
       kPlanBadInput,
       "pgconn-agent plan: --reserved 10 must be at least 0 and less than "
       "max_connections 10 (PostgreSQL refuses to start otherwise)\n"},
      {"bad scale table",
       {"--pool-max", "5", "--scale-table=5-3"},
       kPlanBadInput,
       "pgconn-agent plan: --scale-table 5-3: range 5-3 goes downwards\n"},
      {"target without config",
       {"--pool-max", "5", "--target", "main"},
       kPlanBadInput,
       "pgconn-agent plan: --target needs --config.file\n"},
      {"missing env file",
       {"--env-file", "/nonexistent.env"},
       kPlanBadInput,
       "pgconn-agent plan: --env-file /nonexistent.env: cannot read: No such "
       "file or directory\n"},
      {"env min above max",
       {"--env-file", Fixture("min-above-max.env")},
       kPlanBadInput,
       "pgconn-agent plan: " + Fixture("min-above-max.env") +
           ":1: DB_POOL_MIN=12 is larger than DB_POOL_MAX=10 (line 2): the "
           "pool refuses to start\n"},
      {"env not a number",
       {"--env-file", Fixture("not-a-number.env")},
       kPlanBadInput,
       "pgconn-agent plan: " + Fixture("not-a-number.env") +
           ":2: DB_POOL_MAX=\"ten\" is not a whole number\n"},
      {"flag min above env max",
       {"--env-file", Fixture("guide-worker.env"), "--pool-min", "12"},
       kPlanBadInput,
       "pgconn-agent plan: --pool-min 12 is larger than DB_POOL_MAX=10 (" +
           Fixture("guide-worker.env") + ":9): the pool refuses to start\n"},
      {"env pool max alone over the limit",
       {"--env-file", Fixture("huge-pool.env")},
       kPlanDoesNotFit,
       ""},
      {"guide worker file, 5 workers",
       {"--env-file", Fixture("guide-worker.env"), "--workers", "5"},
       kPlanFits,
       ""},
      {"legacy mode fits but does not hold",
       {"--env-file", legacy},
       kPlanDoesNotFit,
       ""},
      {"scale table with a legacy file",
       {"--env-file", legacy, "--scale-table"},
       kPlanDoesNotFit,
       ""},
      {"help", {"--help"}, kPlanFits, ""},
  };
  for (const ExitCase& c : cases) {
    PlanRunner r;
    const Outcome o = r.Run(c.args);
    EXPECT_EQ(o.code, c.want_code) << c.name << "\n" << o.out << o.err;
    if (c.want_code == kPlanBadInput) {
      EXPECT_EQ(o.err, c.want_err) << c.name;
      EXPECT_EQ(o.out, "") << c.name;
    } else {
      EXPECT_EQ(o.err, "") << c.name;
    }
  }
}

TEST(PlanCommandTest, LintsTheEnvFile) {
  PlanRunner r;
  const Outcome legacy =
      r.Run({"--env-file", Fixture("legacy-mode.env"), "--workers", "2"});
  EXPECT_EQ(legacy.code, kPlanDoesNotFit);
  EXPECT_NE(legacy.out.find("verdict               ok"), std::string::npos)
      << legacy.out;
  EXPECT_NE(legacy.out.find("Findings\n  error: " + Fixture("legacy-mode.env") +
                            ":2: DATABASE_URL is set, so the workers run in "
                            "legacy mode and ignore DB_POOL_MIN (line 3), "
                            "DB_POOL_MAX (line 4)"),
            std::string::npos)
      << legacy.out;
  EXPECT_EQ(legacy.out.find("s3cret-pw"), std::string::npos);
  // The env file's DATABASE_URL is the workers' view: it is never dialled.
  EXPECT_EQ(r.server().connects, 0);

  const Outcome huge =
      r.Run({"--env-file", Fixture("huge-pool.env"), "--output", "json"});
  EXPECT_EQ(huge.code, kPlanDoesNotFit);
  EXPECT_NE(huge.out.find("\"findings\": [\n    {\n      \"severity\": "
                          "\"error\",\n      \"variable\": \"DB_POOL_MAX\",\n"
                          "      \"where\": \"" +
                          Fixture("huge-pool.env") +
                          ":2\",\n      \"message\": \"DB_POOL_MAX=120 alone "
                          "exceeds the 97 usable connections: one worker with "
                          "a full pool is refused.\"\n    }\n  ],"),
            std::string::npos)
      << huge.out;

  const Outcome flag = r.Run({"--pool-max", "98"});
  EXPECT_NE(flag.out.find("error: --pool-max: --pool-max 98 alone exceeds the "
                          "97 usable connections"),
            std::string::npos)
      << flag.out;
  EXPECT_EQ(r.Run({"--pool-max", "97", "--workers", "1"}).out.find("alone"),
            std::string::npos);

  const Outcome guide = r.Run({"--env-file", Fixture("guide-worker.env"),
                               "--workers", "3", "--overhead", "20"});
  EXPECT_EQ(guide.code, kPlanFits);
  EXPECT_NE(guide.out.find("  DB_POOL_MIN           2        " +
                           Fixture("guide-worker.env") + ":8\n"),
            std::string::npos)
      << guide.out;
  EXPECT_NE(guide.out.find("  DB_MAX_IDLE_TIME      300 s    "),
            std::string::npos);
  EXPECT_NE(guide.out.find("  kept open when idle   6        3 workers × "
                           "DB_POOL_MIN 2\n"),
            std::string::npos);
  EXPECT_EQ(guide.out.find("Findings"), std::string::npos);
  // Flags override the file.
  const Outcome what_if = r.Run({"--env-file", Fixture("guide-worker.env"),
                                 "--workers", "10", "--pool-max", "7"});
  EXPECT_EQ(what_if.code, kPlanFits);
  EXPECT_NE(what_if.out.find("  DB_POOL_MAX           7        --pool-max\n"),
            std::string::npos)
      << what_if.out;
}

TEST(PlanCommandTest, ReadsTheLimitFromTheDatabaseInTheEnvironment) {
  PlanRunner r;
  r.env["DATABASE_URL"] = "postgresql://monitor:hunter2@db.internal:5432/app";
  const Outcome o = r.Run({"--workers", "20", "--pool-max", "7"});
  EXPECT_EQ(o.code, kPlanFits) << o.out << o.err;
  EXPECT_EQ(r.server().connects, 1);
  EXPECT_EQ(r.server().open_connections, 0);  // closed again
  EXPECT_EQ(r.server().last_options.application_name, "pgconn-plan");
  // 200 - (3 superuser + 2 reserved_connections) = 195 usable.
  EXPECT_NE(o.out.find("  max_connections       200      read from "
                       "host=db.internal port=5432 user=monitor dbname=app\n"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("  reserved              5        "
                       "superuser_reserved_connections 3 + "
                       "reserved_connections 2\n"),
            std::string::npos);
  EXPECT_NE(o.out.find("  usable connections    195      "), std::string::npos);
  EXPECT_EQ(o.out.find("hunter2"), std::string::npos);
  EXPECT_EQ(o.out.find("no database was read"), std::string::npos);

  // Flags win over the server, and then nothing is dialled.
  const Outcome offline_flag =
      r.Run({"--workers", "20", "--pool-max", "8", "--max-connections", "100",
             "--output", "json"});
  EXPECT_EQ(r.server().connects, 1);
  EXPECT_NE(offline_flag.out.find("\"max_connections\": \"flag\""),
            std::string::npos);
  EXPECT_EQ(offline_flag.code, kPlanDoesNotFit);
  const Outcome offline =
      r.Run({"--workers", "20", "--pool-max", "8", "--offline"});
  EXPECT_EQ(r.server().connects, 1);
  EXPECT_NE(offline.out.find("PostgreSQL's default"), std::string::npos);
}

TEST(PlanCommandTest, DbVariablesNameADatabaseToo) {
  PlanRunner r;
  r.env["DB_HOST"] = "db.internal";
  r.env["DB_PASSWORD"] = "hunter2";
  r.max_connections = 50;
  r.reserved_connections = 0;
  const Outcome o =
      r.Run({"--workers", "4", "--pool-max", "10", "--output", "json"});
  EXPECT_EQ(r.server().connects, 1);
  EXPECT_NE(o.out.find("\"usable_connections\": 47,"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("\"max_connections\": \"server\""), std::string::npos);
  EXPECT_EQ(o.code, kPlanDoesNotFit);  // 40 > 37
}

TEST(PlanCommandTest, AnUnreachableDatabaseIsBadInputWithoutItsPassword) {
  PlanRunner r;
  r.env["DATABASE_URL"] = "postgresql://monitor:hunter2@db.internal:5432/app";
  r.server().connect_results.push_back(Status::Unavailable(
      "connection to server at \"db.internal\" failed: password hunter2 "
      "rejected"));
  const Outcome o = r.Run({"--workers", "2", "--pool-max", "8"});
  EXPECT_EQ(o.code, kPlanBadInput);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err.rfind("pgconn-agent plan: cannot read max_connections from "
                        "host=db.internal port=5432 user=monitor dbname=app "
                        "(give --max-connections, or --offline to plan "
                        "without a database): ",
                        0),
            0u)
      << o.err;
  EXPECT_EQ(o.err.find("hunter2"), std::string::npos) << o.err;

  PlanRunner q;
  q.env["DB_HOST"] = "db.internal";
  q.server().answer = [](std::string_view) -> Result<std::vector<ResultSet>> {
    return Status(StatusCode::kQueryFailed, "permission denied");
  };
  const Outcome failed = q.Run({"--pool-max", "8"});
  EXPECT_EQ(failed.code, kPlanBadInput);
  EXPECT_NE(failed.err.find("permission denied"), std::string::npos)
      << failed.err;
}

class PlanConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::path(::testing::TempDir()) /
             ("plan-" + std::to_string(::getpid()) + ".yaml"))
                .string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void Write(const std::string& yaml) { std::ofstream(path_) << yaml; }
  std::string path_;
};

TEST_F(PlanConfigTest, TakesTargetOverheadAndThresholdFromTheConfiguration) {
  Write(
      "near_limit_threshold: 0.7\n"
      "targets:\n"
      "  - name: main\n"
      "    host: db-main\n"
      "    overhead: 12\n"
      "  - name: reports\n"
      "    host: db-reports\n"
      "    overhead: 3\n"
      "  - name: bouncer\n"
      "    type: pgbouncer\n"
      "    host: pgbouncer\n");
  PlanRunner r;
  const Outcome ambiguous = r.Run({"--config.file", path_, "--pool-max", "5"});
  EXPECT_EQ(ambiguous.code, kPlanBadInput);
  EXPECT_EQ(ambiguous.err, "pgconn-agent plan: " + path_ +
                               " defines several PostgreSQL targets (main, "
                               "reports); choose one with --target\n");
  const Outcome unknown =
      r.Run({"--config.file", path_, "--target", "bouncer", "--pool-max", "5"});
  EXPECT_EQ(unknown.err,
            "pgconn-agent plan: --target bouncer: no PostgreSQL "
            "target of that name in " +
                path_ + "\n");

  r.max_connections = 100;
  r.reserved_connections = 0;
  const Outcome o =
      r.Run({"--config.file", path_, "--target", "reports", "--workers", "10",
             "--pool-max", "6", "--output", "json"});
  EXPECT_EQ(r.server().connects, 1);
  // 97 usable, 70 % of it is 67; 10 × 6 + 3 + the agent = 64 fits.
  EXPECT_EQ(o.code, kPlanFits) << o.out << o.err;
  EXPECT_NE(o.out.find("\"headroom_connections\": 67,"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("\"total_connections\": 64,"), std::string::npos);
  EXPECT_NE(
      o.out.find("\"headroom\": \"config\",\n      \"max_connections\": "
                 "\"server\",\n      \"monitoring_agents\": \"default\",\n"
                 "      \"overhead\": \"config\","),
      std::string::npos)
      << o.out;

  const Outcome offline =
      r.Run({"--config.file", path_, "--target", "main", "--workers", "10",
             "--pool-max", "6", "--offline"});
  EXPECT_EQ(r.server().connects, 1);
  EXPECT_NE(offline.out.find("  overhead              12       target main: "
                             "overhead 12\n"),
            std::string::npos)
      << offline.out;
  EXPECT_NE(offline.out.find("  headroom              70 %     "
                             "near_limit_threshold\n"),
            std::string::npos);
}

TEST_F(PlanConfigTest, PlansADeclaredPoolWithTheOthersAsOverhead) {
  Write(
      "targets:\n"
      "  - name: main\n"
      "    host: db-main\n"
      "    overhead: 10\n"
      "    pools:\n"
      "      - application: worker\n"
      "        replicas: 8\n"
      "        pool_min: 2\n"
      "        pool_max: 8\n"
      "      - application: bot\n"
      "        replicas: 1\n"
      "        pool_min: 1\n"
      "        pool_max: 5\n");
  PlanRunner r;
  const std::vector<std::string> base = {"--config.file", path_, "--offline"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    return r.Run(args);
  };
  // 8 × 8 + (10 + 1 × 5) + the agent = 80 > 77.
  const Outcome worker = with({"--application", "worker"});
  EXPECT_EQ(worker.code, kPlanDoesNotFit) << worker.err;
  EXPECT_NE(worker.out.find("  workers               8        replicas of "
                            "pool worker (" +
                            path_ + ":6:9)\n"),
            std::string::npos)
      << worker.out;
  EXPECT_NE(worker.out.find("  DB_POOL_MIN           2        pool_min of "
                            "pool worker"),
            std::string::npos);
  EXPECT_NE(worker.out.find("  overhead              15       target main: "
                            "overhead 10 + bot 1 \u00d7 5\n"),
            std::string::npos);
  EXPECT_NE(worker.out.find("  total connections     80 "), std::string::npos);
  EXPECT_NE(worker.out.find("  monitoring agents     1        pgconn itself "
                            "(--monitoring-agents)\n"),
            std::string::npos);
  // What if the worker ran 6 replicas? 48 + 15 + 1 = 64.
  EXPECT_EQ(with({"--application", "worker", "--workers", "6"}).code,
            kPlanFits);
  // A new fleet next to everything declared: 10 + 64 + 5 + 1 = 80 already.
  const Outcome fresh = with({"--pool-max", "1", "--output", "json"});
  EXPECT_NE(fresh.out.find("\"total_connections\": 81,"), std::string::npos)
      << fresh.out;
  EXPECT_EQ(fresh.code, kPlanDoesNotFit);

  const Outcome unknown = with({"--application", "reports"});
  EXPECT_EQ(unknown.code, kPlanBadInput);
  EXPECT_EQ(unknown.err,
            "pgconn-agent plan: --application reports: no pool of that name "
            "on target main (declared: worker, bot)\n");
  EXPECT_EQ(r.Run({"--application", "worker"}).err,
            "pgconn-agent plan: --application needs --config.file\n");
}

// The README shows the planner's real output: every `$ pgconn-agent plan`
// example there that is not marked as an excerpt ("...") must be what the
// command prints today.
TEST(PlanCommandTest, ReadmeExamplesAreTheRealOutput) {
  std::ifstream in(std::string(PGCONN_TEST_DATA_DIR) + "/../README.md");
  ASSERT_TRUE(in) << "README.md not found";
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const std::string prompt = "$ pgconn-agent plan";
  int checked = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind(prompt, 0) != 0) continue;
    std::string expected;
    bool excerpt = false;
    size_t j = i + 1;
    for (;
         j < lines.size() && lines[j] != "```" && lines[j].rfind("$ ", 0) != 0;
         ++j) {
      excerpt = excerpt || lines[j].find("...") != std::string::npos;
      expected += lines[j] + "\n";
    }
    if (excerpt) continue;
    // Paths in the README are relative to the repository root.
    const std::string root = std::string(PGCONN_TEST_DATA_DIR) + "/../";
    std::vector<std::string> args;
    std::istringstream words(lines[i].substr(prompt.size()));
    for (std::string w; words >> w;) {
      args.push_back(w.rfind("tests/", 0) == 0 ? root + w : w);
    }
    PlanRunner r;
    const Outcome o = r.Run(args);
    std::string shown = o.out + o.err;  // what a terminal shows
    for (size_t at; (at = shown.find(root)) != std::string::npos;) {
      shown.erase(at, root.size());
    }
    EXPECT_EQ(shown, expected) << lines[i];
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST(PlanCommandTest, HelpListsEveryFlag) {
  PlanRunner r;
  const Outcome o = r.Run({"-h"});
  EXPECT_EQ(o.code, kPlanFits);
  for (const char* flag :
       {"--workers", "--pool-max", "--pool-min", "--overhead", "--env-file",
        "--max-connections", "--reserved", "--headroom",
        "--memory-per-connection", "--config.file", "--target", "--application",
        "--offline", "--pgbouncer-pool-size", "--pgbouncer-pool-max",
        "--pgbouncer-max-client-conn", "--output", "--scale-table",
        "--from-prometheus", "--window", "--end", "--margin",
        "--basic-auth-user", "--basic-auth-password-file",
        "--bearer-token-file", "--tls-ca-file", "--query-timeout"}) {
    EXPECT_NE(o.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace pgconn
