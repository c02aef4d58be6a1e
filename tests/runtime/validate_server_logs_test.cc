#include <gtest/gtest.h>

#include "pgconn/agent.h"

namespace pgconn {
namespace {

Config WithServerLog(TargetKind kind, std::string prefix) {
  Config c;
  TargetConfig t;
  t.name = "t";
  t.kind = kind;
  ServerLogConfig log;
  log.path = "/var/log/postgresql/postgresql.log";
  log.log_line_prefix = std::move(prefix);
  log.origin = "pgconn.yml:7:7";
  t.server_log = log;
  c.targets.push_back(t);
  return c;
}

TEST(ValidateServerLogsTest, NamesWhereTheBadSettingIs) {
  EXPECT_TRUE(
      ValidateServerLogs(WithServerLog(TargetKind::kPostgres, "%m [%p] "))
          .ok());
  Status s = ValidateServerLogs(WithServerLog(TargetKind::kPostgres, "%Z "));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("pgconn.yml:7:7"), std::string::npos);
  EXPECT_NE(s.message().find("%Z"), std::string::npos);
  s = ValidateServerLogs(WithServerLog(TargetKind::kPgBouncer, "%m "));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("PostgreSQL targets only"), std::string::npos);
}

}  // namespace
}  // namespace pgconn
