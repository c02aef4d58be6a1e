// A small structured logger: constant lowercase messages, variable data in
// fields, logfmt or JSON lines. Never give it a password or a full DSN.
#ifndef PGCONN_LOG_H_
#define PGCONN_LOG_H_

#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgconn/clock.h"
#include "pgconn/status.h"
#include "pgconn/thread_annotations.h"

namespace pgconn {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kLogfmt, kJson };

Result<LogLevel> ParseLogLevel(std::string_view s);
Result<LogFormat> ParseLogFormat(std::string_view s);
std::string_view LogLevelName(LogLevel level);

using LogField = std::pair<std::string, std::string>;

// Writes one line per call to the stream given at construction.
// Thread-safe: lines from concurrent callers never interleave.
class Logger {
 public:
  Logger(std::ostream* out, LogLevel level, LogFormat format,
         const Clock* clock);
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void Log(LogLevel level, std::string_view msg,
           std::initializer_list<LogField> fields = {}) const;
  void Log(LogLevel level, std::string_view msg,
           const std::vector<LogField>& fields) const;
  void Debug(std::string_view msg,
             std::initializer_list<LogField> f = {}) const {
    Log(LogLevel::kDebug, msg, f);
  }
  void Info(std::string_view msg,
            std::initializer_list<LogField> f = {}) const {
    Log(LogLevel::kInfo, msg, f);
  }
  void Warn(std::string_view msg,
            std::initializer_list<LogField> f = {}) const {
    Log(LogLevel::kWarn, msg, f);
  }
  void Error(std::string_view msg,
             std::initializer_list<LogField> f = {}) const {
    Log(LogLevel::kError, msg, f);
  }
  bool Enabled(LogLevel level) const { return level >= level_; }

 private:
  std::ostream* out_ PGCONN_GUARDED_BY(mu_);
  const LogLevel level_;
  const LogFormat format_;
  const Clock* clock_;
  mutable Mutex mu_;
};

namespace detail {
// Exposed for tests.
std::string FormatLogfmtValue(std::string_view v);
std::string FormatJsonString(std::string_view v);
}  // namespace detail

}  // namespace pgconn

#endif  // PGCONN_LOG_H_
