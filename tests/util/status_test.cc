#include "pgconn/status.h"

#include <gtest/gtest.h>

#include <string>

#include "pgconn/thread_guard.h"

namespace pgconn {
namespace {

TEST(ResultTest, AnOkStatusIsRefusedInEveryBuildType) {
  // Not an assert(): the same in Release as in Debug.
  Result<int> r = Status::Ok();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("OK status"), std::string::npos);
}

TEST(ResultTest, HoldsAValueOrAnError) {
  Result<std::string> v = std::string("x");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "x");
  EXPECT_TRUE(v.status().ok());
  Result<std::string> e = Status::NotFound("gone");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status(), Status::NotFound("gone"));
}

TEST(ThreadGuardTest, AnExceptionGoesToTheHandlerWithTheThreadsName) {
  std::string seen;
  const bool returned = RunGuarded(
      "poller:main",
      [&](std::string_view thread, std::string_view what) {
        seen = std::string(thread) + ": " + std::string(what);
      },
      [] { throw std::runtime_error("boom"); });
  EXPECT_FALSE(returned);
  EXPECT_EQ(seen, "poller:main: boom");
}

TEST(ThreadGuardTest, ANonStandardExceptionIsReportedToo) {
  std::string seen;
  RunGuarded(
      "http", [&](std::string_view, std::string_view what) { seen = what; },
      [] { throw 42; });
  EXPECT_EQ(seen, "unknown exception");
}

TEST(ThreadGuardTest, ANormalReturnIsNotAFailure) {
  bool called = false;
  EXPECT_TRUE(RunGuarded(
      "http", [&](std::string_view, std::string_view) { called = true; },
      [] {}));
  EXPECT_FALSE(called);
}

TEST(ThreadGuardTest, NoFaultIsInjectedWithoutTheVariable) {
  // The test runs without PGCONN_INTERNAL_FAULT.
  EXPECT_FALSE(FaultInjected("poller"));
  EXPECT_FALSE(FaultInjected(""));
}

}  // namespace
}  // namespace pgconn
