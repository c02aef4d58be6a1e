// The env-file lint never prints a password, whatever the DATABASE_URL or
// DB_PASSWORD line holds: a bounded, deterministic fuzz.
#include <gtest/gtest.h>

#include "fakes/hostile_inputs.h"
#include "plan/env_file.h"

namespace pgconn {
namespace {

using testing::ContainsPassword;
using testing::HostileInputs;

TEST(EnvFileSecretsTest, FuzzedFilesNeverLeakThePassword) {
  HostileInputs gen(20261202);
  int refused = 0, read = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    switch (gen.Below(3)) {
      case 0:
        text = "DATABASE_URL=" + gen.Url() + "\nDB_POOL_MAX=5\n";
        break;
      case 1:
        text = "DATABASE_URL=\"" + gen.Url() + "\"\nDB_HOST=h\n";
        break;
      default: {
        // Drawn one by one: operand order is up to the compiler.
        const std::string password = gen.Password();
        const std::string port = gen.Below(2) ? "5432" : "x";
        text =
            "DB_HOST=h\nDB_PASSWORD='" + password + "'\nDB_PORT=" + port + "\n";
      }
    }
    auto file = ParseEnvFile(text, "w.env");
    if (!file.ok()) {
      ++refused;
      ASSERT_FALSE(ContainsPassword(file.status().message())) << text;
      continue;
    }
    auto env = ReadWorkerEnv(*file);
    if (!env.ok()) {
      ++refused;
      ASSERT_FALSE(ContainsPassword(env.status().message()))
          << text << "\n"
          << env.status().message();
      continue;
    }
    ++read;
    for (const Finding& f : env->findings) {
      ASSERT_FALSE(ContainsPassword(f.message + f.where + f.variable)) << text;
    }
  }
  EXPECT_GT(refused, 100);
  EXPECT_GT(read, 100);
}

}  // namespace
}  // namespace pgconn
