// Configuring a PgBouncer target: the admin console is the only database it
// may name, and the connection always goes to it.
#include <gtest/gtest.h>

#include "config/dsn.h"
#include "pgconn/config.h"
#include "pgconn/session.h"
#include "session/connection_params.h"

namespace pgconn {
namespace {

// The database libpq connects to: the last plain dbname, or the one in the
// URL that an expanded first dbname carries.
std::string EffectiveDbname(const ConnectionParams& p) {
  std::string db;
  for (size_t i = 0; i < p.keywords.size(); ++i) {
    if (p.keywords[i] != "dbname") continue;
    db = p.values[i];
    if (i == 0 && p.expand_dbname) {
      db.clear();
      auto fields = ParseConninfo(p.values[i]);
      if (!fields.ok()) continue;
      for (const auto& [k, v] : *fields) {
        if (k == "dbname") db = v;
      }
    }
  }
  return db;
}

struct TargetCase {
  std::string yaml;
  std::string error;   // empty: accepted
  std::string dbname;  // what libpq is given, when accepted
};

TEST(PgBouncerConfigTest, TargetsReadTheAdminConsoleOnly) {
  const std::string head = "targets:\n  - name: bouncer\n    type: pgbouncer\n";
  const std::vector<TargetCase> cases = {
      {head + "    host: pgb\n    port: 6432\n    user: mon\n", "",
       "pgbouncer"},
      {head + "    dbname: pgbouncer\n", "", "pgbouncer"},
      {head + "    url: postgresql://mon@pgb:6432\n", "", "pgbouncer"},
      {head + "    url: postgresql://mon@pgb:6432/pgbouncer\n", "",
       "pgbouncer"},
      // The keys may come in any order.
      {"targets:\n  - name: bouncer\n    dbname: app\n    type: pgbouncer\n",
       "c.yaml:3:13: target \"bouncer\": a PgBouncer target reads the admin "
       "console, database \"pgbouncer\", not \"app\"",
       ""},
      {head + "    url: postgresql://mon@pgb:6432/app\n",
       "c.yaml:4:10: target \"bouncer\": a PgBouncer target reads the admin "
       "console, database \"pgbouncer\", not \"app\"",
       ""},
      {head + "    pools:\n      - application: w\n        pool_max: 5\n",
       "c.yaml:5:7: target \"bouncer\": pools are declared on the PostgreSQL "
       "target, not on PgBouncer",
       ""},
  };
  for (const TargetCase& c : cases) {
    auto cfg = ParseConfigYaml(c.yaml, "c.yaml");
    if (!c.error.empty()) {
      ASSERT_FALSE(cfg.ok()) << c.yaml;
      EXPECT_EQ(cfg.status().message(), c.error);
      continue;
    }
    ASSERT_TRUE(cfg.ok()) << c.yaml << cfg.status().message();
    ASSERT_EQ(cfg->targets.size(), 1u);
    EXPECT_EQ(cfg->targets[0].kind, TargetKind::kPgBouncer);
    auto params = BuildConnectionParams(cfg->targets[0], SessionOptions());
    ASSERT_TRUE(params.ok()) << params.status().message();
    EXPECT_EQ(EffectiveDbname(*params), c.dbname) << c.yaml;
    // The admin console refuses startup options such as statement_timeout.
    EXPECT_EQ(params->Get("options"), "") << c.yaml;
  }
}

TEST(PgBouncerConfigTest, ReadmeExampleParses) {
  const std::string yaml =
      "targets:\n"
      "  - name: bouncer\n"
      "    type: pgbouncer\n"
      "    host: pgbouncer.internal\n"
      "    port: 6432\n"
      "    user: pgconn_monitor\n"
      "    password_file: /run/secrets/pgconn-pgbouncer\n"
      "  - name: main\n"
      "    host: db.internal\n"
      "    user: pgconn_monitor\n"
      "    dbname: app\n";
  auto cfg = ParseConfigYaml(yaml, "pgconn.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  ASSERT_EQ(cfg->targets.size(), 2u);
  EXPECT_EQ(cfg->targets[0].kind, TargetKind::kPgBouncer);
  EXPECT_EQ(cfg->targets[0].port, "6432");
  EXPECT_EQ(cfg->targets[1].kind, TargetKind::kPostgres);
  EXPECT_EQ(cfg->targets[1].dbname, "app");
}

TEST(PgBouncerConfigTest, AdminConsoleRefusalsHaveTheirReason) {
  const std::string prefix =
      "connection to server at \"127.0.0.1\", port 6432 failed: ";
  const std::vector<std::pair<std::string, StatusCode>> cases = {
      // A user in neither admin_users nor stats_users.
      {"FATAL:  not allowed", StatusCode::kUnauthenticated},
      {"FATAL:  password authentication failed", StatusCode::kUnauthenticated},
      {"FATAL:  \"trust\" authentication failed", StatusCode::kUnauthenticated},
      {"FATAL:  no more connections allowed (max_client_conn)",
       StatusCode::kTooManyClients},
      {"Connection refused", StatusCode::kUnavailable},
  };
  for (const auto& [message, code] : cases) {
    EXPECT_EQ(detail::ClassifyConnectError(prefix + message), code) << message;
  }
}

}  // namespace
}  // namespace pgconn
