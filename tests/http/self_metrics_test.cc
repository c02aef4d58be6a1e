#include "http/self_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>

#include "golden_file.h"

namespace pgconn {
namespace {

TEST(SelfMetricsTest, GoldenText) {
  ProcessStats p;
  p.cpu_seconds = 1.25;
  p.resident_bytes = 12582912;
  p.virtual_bytes = 268435456;
  p.open_fds = 12;
  p.max_fds = 1024;
  p.start_time_seconds = 1764600000;
  HttpStats h;
  h.requests[{"metrics", 200}] = 7;
  h.requests[{"other", 404}] = 1;
  h.open_connections = 3;
  ExpectGolden("http_self.prom", SelfMetricsText(p, h));
}

TEST(SelfMetricsTest, ReadsThisProcess) {
  auto p = ReadProcessStats(BootTimeSeconds());
  ASSERT_TRUE(p.has_value());
  EXPECT_GT(p->resident_bytes, 0);
  EXPECT_GE(p->virtual_bytes, p->resident_bytes);
  // stdin, stdout and stderr at least.
  EXPECT_GE(p->open_fds, 3);
  EXPECT_GT(p->max_fds, 0);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(p->start_time_seconds, now + 1);
  EXPECT_GT(p->start_time_seconds, now - 3600);
}

}  // namespace
}  // namespace pgconn
