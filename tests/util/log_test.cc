#include "pgconn/log.h"

#include <gtest/gtest.h>

#include <sstream>

#include "fakes/fake_clock.h"

namespace pgconn {
namespace {

TEST(LoggerTest, WritesLogfmtWithQuotingWhereNeeded) {
  std::ostringstream out;
  FakeClock clock;
  Logger log(&out, LogLevel::kInfo, LogFormat::kLogfmt, &clock);
  log.Warn("poll failed", {{"target", "main"}, {"err", "say \"hi\"\nbye"}});
  EXPECT_EQ(out.str(),
            "ts=2023-11-14T22:13:20.000Z level=warn msg=\"poll failed\" "
            "target=main err=\"say \\\"hi\\\"\\nbye\"\n");
}

TEST(LoggerTest, WritesJson) {
  std::ostringstream out;
  FakeClock clock;
  Logger log(&out, LogLevel::kDebug, LogFormat::kJson, &clock);
  log.Debug("connected", {{"target", "a\tb"}});
  EXPECT_EQ(out.str(),
            "{\"ts\":\"2023-11-14T22:13:20.000Z\",\"level\":\"debug\","
            "\"msg\":\"connected\",\"target\":\"a\\tb\"}\n");
}

TEST(LoggerTest, DropsLinesBelowItsLevel) {
  std::ostringstream out;
  FakeClock clock;
  Logger log(&out, LogLevel::kWarn, LogFormat::kLogfmt, &clock);
  log.Info("hidden");
  log.Debug("hidden");
  EXPECT_EQ(out.str(), "");
  log.Error("shown");
  EXPECT_NE(out.str().find("msg=shown"), std::string::npos);
}

TEST(LoggerTest, ParsesLevelsAndFormats) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("DEBUG").ok());
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("text").ok());
}

TEST(LogfmtTest, QuotesEmptyAndControlCharacters) {
  EXPECT_EQ(detail::FormatLogfmtValue(""), "\"\"");
  EXPECT_EQ(detail::FormatLogfmtValue("plain"), "plain");
  EXPECT_EQ(detail::FormatLogfmtValue("a=b"), "\"a=b\"");
  EXPECT_EQ(detail::FormatLogfmtValue(std::string("\x01", 1)), "\"\\u0001\"");
  EXPECT_EQ(detail::FormatJsonString(std::string("\x01", 1)), "\"\\u0001\"");
  // A client may set any bytes as application_name: the JSON line stays valid.
  EXPECT_EQ(detail::FormatJsonString("caf\xc3\xa9 \xff"),
            "\"caf\xc3\xa9 \\ufffd\"");
}

}  // namespace
}  // namespace pgconn
