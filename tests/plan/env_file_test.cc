#include "plan/env_file.h"

#include <gtest/gtest.h>

namespace pgconn {
namespace {

std::string Fixture(const std::string& name) {
  return std::string(PGCONN_TEST_DATA_DIR) + "/fixtures/env/" + name;
}

TEST(EnvFileTest, ParsesTheSyntax) {
  struct Case {
    std::string name, text;
    std::vector<std::pair<std::string, std::string>> want;
  };
  const std::vector<Case> cases = {
      {"plain", "A=1\nB=two\n", {{"A", "1"}, {"B", "two"}}},
      {"no final newline", "A=1", {{"A", "1"}}},
      {"comments and blanks", "# c\n\n  # indented\nA=1\n", {{"A", "1"}}},
      {"trailing comment", "A=10   # per worker\n", {{"A", "10"}}},
      {"hash inside a value", "P=pa#ss\n", {{"P", "pa#ss"}}},
      {"export prefix", "export A=1\nexport\tB=2\n", {{"A", "1"}, {"B", "2"}}},
      {"a variable called export", "export=1\n", {{"export", "1"}}},
      {"blanks around =", "A = 1\n", {{"A", "1"}}},
      {"empty value", "A=\n", {{"A", ""}}},
      {"single quotes are literal",
       "A='x \\n $y # z'\n",
       {{"A", "x \\n $y # z"}}},
      {"double quotes with escapes",
       "A=\"say \\\"hi\\\" \\\\ \\$x\\nnext\"\n",
       {{"A", "say \"hi\" \\ $x\nnext"}}},
      {"unknown escape kept", "A=\"a\\tb\"\n", {{"A", "a\\tb"}}},
      {"comment after quotes",
       "A=\"1\" # one\nB='2'#two\n",
       {{"A", "1"}, {"B", "2"}}},
      {"CRLF", "A=1\r\nB=2\r\n", {{"A", "1"}, {"B", "2"}}},
      {"byte order mark",
       "\xEF\xBB\xBF"
       "A=1\n",
       {{"A", "1"}}},
      {"equals in the value",
       "U=postgresql://h/db?sslmode=require\n",
       {{"U", "postgresql://h/db?sslmode=require"}}},
      {"twice", "A=1\nA=2\n", {{"A", "1"}, {"A", "2"}}},
  };
  for (const Case& c : cases) {
    auto f = ParseEnvFile(c.text, "w.env");
    ASSERT_TRUE(f.ok()) << c.name << ": " << f.status().message();
    ASSERT_EQ(f->variables.size(), c.want.size()) << c.name;
    for (size_t i = 0; i < c.want.size(); ++i) {
      EXPECT_EQ(f->variables[i].name, c.want[i].first) << c.name;
      EXPECT_EQ(f->variables[i].value, c.want[i].second) << c.name;
    }
  }
}

TEST(EnvFileTest, RecordsLinesAndTheDefinitionThatWins) {
  auto f = ParseEnvFile("# header\nA=1\n\nB=2\nA=3\n", "w.env");
  ASSERT_TRUE(f.ok());
  ASSERT_NE(f->Find("A"), nullptr);
  EXPECT_EQ(f->Find("A")->value, "3");
  EXPECT_EQ(f->Where(*f->Find("A")), "w.env:5");
  EXPECT_EQ(f->Where(*f->Find("B")), "w.env:4");
  EXPECT_EQ(f->Find("C"), nullptr);
}

TEST(EnvFileTest, RejectsBadSyntaxWithoutRepeatingTheLine) {
  struct Case {
    std::string name, text, want;
  };
  const std::vector<Case> cases = {
      {"no equals sign", "A=1\npostgresql://u:hunter2@h/db\n",
       "w.env:2: expected NAME=VALUE"},
      {"bad name", "1A=2\n",
       "w.env:1: the text before '=' is not a variable name"},
      {"URL with a query", "postgresql://u:hunter2@h/db?sslmode=require\n",
       "w.env:1: the text before '=' is not a variable name"},
      {"empty name", "=1\n",
       "w.env:1: the text before '=' is not a variable name"},
      {"open single quote", "DB_PASSWORD='hunter2\n",
       "w.env:1: DB_PASSWORD: the single quote is not closed on this line"},
      {"open double quote", "\n\nDB_PASSWORD=\"hunter2\n",
       "w.env:3: DB_PASSWORD: the double quote is not closed on this line"},
      {"text after a quote", "DB_PASSWORD=\"hunter2\"x\n",
       "w.env:1: DB_PASSWORD: unexpected text after the closing quote"},
  };
  for (const Case& c : cases) {
    auto f = ParseEnvFile(c.text, "w.env");
    ASSERT_FALSE(f.ok()) << c.name;
    EXPECT_EQ(f.status().message(), c.want) << c.name;
    EXPECT_EQ(f.status().message().find("hunter2"), std::string::npos);
  }
}

TEST(EnvFileTest, ReadsTheGuidesWorkerFile) {
  auto f = ReadEnvFile(Fixture("guide-worker.env"));
  ASSERT_TRUE(f.ok()) << f.status().message();
  auto env = ReadWorkerEnv(*f);
  ASSERT_TRUE(env.ok()) << env.status().message();
  EXPECT_EQ(env->pool_min, 2);
  EXPECT_EQ(env->pool_max, 10);
  EXPECT_EQ(env->max_queries, 50000);
  EXPECT_EQ(env->max_idle_time_seconds, 300.0);
  EXPECT_FALSE(env->has_database_url);
  EXPECT_TRUE(env->findings.empty());
  EXPECT_EQ(env->pool_max_where, Fixture("guide-worker.env") + ":9");
}

TEST(EnvFileTest, ReadsExportsAndQuotes) {
  auto f = ReadEnvFile(Fixture("pgbouncer-worker.env"));
  ASSERT_TRUE(f.ok()) << f.status().message();
  auto env = ReadWorkerEnv(*f);
  ASSERT_TRUE(env.ok()) << env.status().message();
  EXPECT_EQ(env->pool_min, 1);
  EXPECT_EQ(env->pool_max, 5);
  EXPECT_EQ(env->max_idle_time_seconds, 300.0);
}

TEST(EnvFileTest, MissingFileNamesTheFlag) {
  auto f = ReadEnvFile("/nonexistent/worker.env");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(),
            "--env-file /nonexistent/worker.env: cannot read: No such file or "
            "directory");
}

TEST(EnvFileTest, RejectsValuesNoWorkerStartsWith) {
  struct Case {
    std::string name, text, want;
  };
  const std::vector<Case> cases = {
      {"pool max not a number", "DB_POOL_MIN=2\nDB_POOL_MAX=ten\n",
       "w.env:2: DB_POOL_MAX=\"ten\" is not a whole number"},
      {"pool max empty", "DB_POOL_MAX=\n",
       "w.env:1: DB_POOL_MAX=\"\" is not a whole number"},
      {"pool max with a unit", "DB_POOL_MAX=10conn\n",
       "w.env:1: DB_POOL_MAX=\"10conn\" is not a whole number"},
      {"pool max zero", "DB_POOL_MAX=0\n",
       "w.env:1: DB_POOL_MAX=0 is outside [1, 100000]"},
      {"pool min negative", "DB_POOL_MIN=-1\n",
       "w.env:1: DB_POOL_MIN=-1 is outside [0, 100000]"},
      {"pool min huge", "DB_POOL_MIN=99999999999999999999\n",
       "w.env:1: DB_POOL_MIN=99999999999999999999 is outside [0, 100000]"},
      {"pool min above max", "DB_POOL_MIN=12\nDB_POOL_MAX=10\n",
       "w.env:1: DB_POOL_MIN=12 is larger than DB_POOL_MAX=10 (line 2): the "
       "pool refuses to start"},
      {"max queries not a number", "DB_MAX_QUERIES=lots\n",
       "w.env:1: DB_MAX_QUERIES=\"lots\" is not a whole number"},
      {"max queries zero", "DB_MAX_QUERIES=0\n",
       "w.env:1: DB_MAX_QUERIES=0 is outside [1, 1000000000000]"},
      {"idle time with a unit", "DB_MAX_IDLE_TIME=5m\n",
       "w.env:1: DB_MAX_IDLE_TIME=\"5m\" is not a number (seconds)"},
      {"idle time negative", "DB_MAX_IDLE_TIME=-5\n",
       "w.env:1: DB_MAX_IDLE_TIME=-5 is outside [0, 1000000000] (seconds)"},
      {"port", "DB_PORT=abc\n",
       "w.env:1: DB_PORT=\"abc\" is not a port number (1-65535)"},
      {"port zero", "DB_PORT=0\n",
       "w.env:1: DB_PORT=\"0\" is not a port number (1-65535)"},
      {"huge pool max", "DB_POOL_MAX=" + std::string(5000, '1') + "\n",
       "w.env:1: DB_POOL_MAX=" + std::string(40, '1') +
           "... is outside [1, 100000]"},
      {"huge port", "DB_PORT=" + std::string(5000, 'x') + "\n",
       "w.env:1: DB_PORT=\"" + std::string(40, 'x') +
           "...\" is not a port number (1-65535)"},
      {"idle time nan", "DB_MAX_IDLE_TIME=nan\n",
       "w.env:1: DB_MAX_IDLE_TIME=\"nan\" is not a finite number (seconds)"},
  };
  for (const Case& c : cases) {
    auto f = ParseEnvFile(c.text, "w.env");
    ASSERT_TRUE(f.ok()) << c.name;
    auto env = ReadWorkerEnv(*f);
    ASSERT_FALSE(env.ok()) << c.name;
    EXPECT_EQ(env.status().message(), c.want) << c.name;
  }
}

TEST(EnvFileTest, MalformedDatabaseUrlNeverShowsThePassword) {
  auto f = ParseEnvFile("DATABASE_URL=postgresql://u:hunter2@h:notaport/db\n",
                        "w.env");
  ASSERT_TRUE(f.ok());
  auto env = ReadWorkerEnv(*f);
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().message().rfind("w.env:1: DATABASE_URL: ", 0), 0u)
      << env.status().message();
  EXPECT_EQ(env.status().message().find("hunter2"), std::string::npos);
}

struct FindingCase {
  std::string name, text;
  std::vector<Finding> want;
};

TEST(EnvFileTest, Lints) {
  const std::vector<FindingCase> cases = {
      {"clean", "DB_POOL_MIN=2\nDB_POOL_MAX=10\n", {}},
      {"legacy mode",
       "DATABASE_URL=postgresql://app:hunter2@db/app\nDB_POOL_MIN=2\n"
       "DB_POOL_MAX=10\n",
       {{FindingSeverity::kError, "DATABASE_URL", "w.env:1",
         "DATABASE_URL is set, so the workers run in legacy mode and ignore "
         "DB_POOL_MIN (line 2), DB_POOL_MAX (line 3): the pool settings this "
         "plan uses are not applied. Connect with DB_HOST, DB_PORT, DB_USER, "
         "DB_PASSWORD and DB_NAME instead of DATABASE_URL."}}},
      {"legacy mode with idle time only",
       "DB_MAX_IDLE_TIME=300\nDATABASE_URL=postgresql://db/app\n",
       {{FindingSeverity::kError, "DATABASE_URL", "w.env:2",
         "DATABASE_URL is set, so the workers run in legacy mode and ignore "
         "DB_MAX_IDLE_TIME (line 1): the pool settings this plan uses are not "
         "applied. Connect with DB_HOST, DB_PORT, DB_USER, DB_PASSWORD and "
         "DB_NAME instead of DATABASE_URL."}}},
      {"DATABASE_URL overrides DB_HOST",
       "DB_HOST=db\nDB_PASSWORD=hunter2\nDATABASE_URL=postgresql://db/app\n",
       {{FindingSeverity::kWarning, "DATABASE_URL", "w.env:3",
         "DATABASE_URL is set, so DB_HOST (line 1), DB_PASSWORD (line 2) are "
         "ignored."}}},
      {"empty DATABASE_URL",
       "DATABASE_URL=\nDB_POOL_MAX=10\n",
       {{FindingSeverity::kWarning, "DATABASE_URL", "w.env:1",
         "DATABASE_URL is empty; read as unset."}}},
      {"set twice",
       "DB_POOL_MAX=10\nDB_POOL_MAX=8\n",
       {{FindingSeverity::kWarning, "DB_POOL_MAX", "w.env:2",
         "DB_POOL_MAX is set 2 times (lines 1, 2); the last one takes "
         "effect."}}},
      {"typo",
       "DB_POOL_MAXX=10\n",
       {{FindingSeverity::kWarning, "DB_POOL_MAXX", "w.env:1",
         "DB_POOL_MAXX is not one of the guide's variables (did you mean "
         "DB_POOL_MAX?); the workers ignore it."}}},
      {"unknown without a close name",
       "DB_REPLICA_HOSTS=a,b\n",
       {{FindingSeverity::kWarning, "DB_REPLICA_HOSTS", "w.env:1",
         "DB_REPLICA_HOSTS is not one of the guide's variables; the workers "
         "ignore it."}}},
      {"other variables are none of our business", "LOG_LEVEL=debug\n", {}},
      {"idle time zero",
       "DB_MAX_IDLE_TIME=0\n",
       {{FindingSeverity::kWarning, "DB_MAX_IDLE_TIME", "w.env:1",
         "DB_MAX_IDLE_TIME=0 turns off closing idle connections: connections "
         "opened above DB_POOL_MIN stay open until the worker exits."}}},
  };
  for (const FindingCase& c : cases) {
    auto f = ParseEnvFile(c.text, "w.env");
    ASSERT_TRUE(f.ok()) << c.name;
    auto env = ReadWorkerEnv(*f);
    ASSERT_TRUE(env.ok()) << c.name << ": " << env.status().message();
    ASSERT_EQ(env->findings.size(), c.want.size()) << c.name;
    for (size_t i = 0; i < c.want.size(); ++i) {
      const Finding& got = env->findings[i];
      EXPECT_EQ(got.severity, c.want[i].severity) << c.name;
      EXPECT_EQ(got.variable, c.want[i].variable) << c.name;
      EXPECT_EQ(got.where, c.want[i].where) << c.name;
      EXPECT_EQ(got.message, c.want[i].message) << c.name;
      EXPECT_EQ(got.message.find("hunter2"), std::string::npos) << c.name;
    }
  }
}

TEST(EnvFileTest, LegacyModeFixture) {
  auto f = ReadEnvFile(Fixture("legacy-mode.env"));
  ASSERT_TRUE(f.ok());
  auto env = ReadWorkerEnv(*f);
  ASSERT_TRUE(env.ok());
  EXPECT_TRUE(env->has_database_url);
  ASSERT_EQ(env->findings.size(), 1u);
  EXPECT_EQ(env->findings[0].severity, FindingSeverity::kError);
  EXPECT_EQ(env->findings[0].where, Fixture("legacy-mode.env") + ":2");
  EXPECT_EQ(env->findings[0].message.find("s3cret-pw"), std::string::npos);
}

}  // namespace
}  // namespace pgconn
