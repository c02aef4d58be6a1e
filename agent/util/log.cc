#include "pgconn/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "util/json_writer.h"

namespace pgconn {
namespace {

std::string Rfc3339Millis(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
  const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return Status::InvalidArgument("log level \"" + std::string(s) +
                                 "\" is not one of debug, info, warn, error");
}

Result<LogFormat> ParseLogFormat(std::string_view s) {
  if (s == "logfmt") return LogFormat::kLogfmt;
  if (s == "json") return LogFormat::kJson;
  return Status::InvalidArgument("log format \"" + std::string(s) +
                                 "\" is not one of logfmt, json");
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

namespace detail {

std::string FormatLogfmtValue(std::string_view v) {
  bool needs_quotes = v.empty();
  for (char c : v) {
    if (c == ' ' || c == '=' || c == '"' || c == '\\' ||
        static_cast<unsigned char>(c) < 0x20) {
      needs_quotes = true;
      break;
    }
  }
  // Quoted values use JSON's escapes, which logfmt readers accept.
  return needs_quotes ? JsonQuote(v) : std::string(v);
}

std::string FormatJsonString(std::string_view v) { return JsonQuote(v); }

}  // namespace detail

Logger::Logger(std::ostream* out, LogLevel level, LogFormat format,
               const Clock* clock)
    : out_(out), level_(level), format_(format), clock_(clock) {}

void Logger::Log(LogLevel level, std::string_view msg,
                 std::initializer_list<LogField> fields) const {
  if (!Enabled(level)) return;
  Log(level, msg, std::vector<LogField>(fields));
}

void Logger::Log(LogLevel level, std::string_view msg,
                 const std::vector<LogField>& fields) const {
  if (!Enabled(level)) return;
  std::string line;
  const std::string ts = Rfc3339Millis(clock_->Now());
  if (format_ == LogFormat::kJson) {
    line = "{\"ts\":" + detail::FormatJsonString(ts) +
           ",\"level\":" + detail::FormatJsonString(LogLevelName(level)) +
           ",\"msg\":" + detail::FormatJsonString(msg);
    // One append per part: `"," + FormatJsonString(k)` trips GCC 12's false
    // -Wrestrict at -O3 (GCC bug 105651).
    for (const auto& [k, v] : fields) {
      line += ',';
      line += detail::FormatJsonString(k);
      line += ':';
      line += detail::FormatJsonString(v);
    }
    line += "}\n";
  } else {
    line = "ts=" + ts + " level=" + std::string(LogLevelName(level)) +
           " msg=" + detail::FormatLogfmtValue(msg);
    for (const auto& [k, v] : fields) {
      line += " " + k + "=" + detail::FormatLogfmtValue(v);
    }
    line += "\n";
  }
  MutexLock lock(&mu_);
  *out_ << line << std::flush;
}

}  // namespace pgconn
