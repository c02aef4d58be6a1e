// Turning a TargetConfig into libpq connection parameters, and describing a
// target in logs without its secrets.
#ifndef PGCONN_AGENT_CONFIG_DSN_H_
#define PGCONN_AGENT_CONFIG_DSN_H_

#include <atomic>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/status.h"

namespace pgconn {

// Keyword/value arrays for PQconnectStartParams. When `expand_dbname` is
// true the first `dbname` value is a URL that libpq expands; the keywords
// after it override what the URL says.
struct ConnectionParams {
  std::vector<std::string> keywords;
  std::vector<std::string> values;
  bool expand_dbname = false;

  // Value of `keyword` (the last one wins, as in libpq), or "" if absent.
  std::string Get(std::string_view keyword) const;
};

struct SessionOptions {
  std::string application_name = "pgconn-agent";
  Duration connect_timeout{5000};
  Duration statement_timeout{5000};
  // When set and raised, waits in the session end at once (shutdown).
  const std::atomic<bool>* interrupt = nullptr;
};

// Builds the parameters. The password (inline or from password_file) is
// resolved here, so a rotated password file takes effect at the next connect.
Result<ConnectionParams> BuildConnectionParams(const TargetConfig& target,
                                               const SessionOptions& options);

// A server's TCP port, wherever one is given (YAML "port", DB_PORT, a URL):
// a whole number from kMinPort to kMaxPort. libpq itself checks it only
// when it connects. The error is ParseInt64InRange()'s ("70000 is outside
// [1, 65535]"); it repeats the text, so a caller that must not (a port
// inside a URL) says its own.
inline constexpr int kMinPort = 1;
inline constexpr int kMaxPort = 65535;
Result<int> ParsePort(std::string_view text);

// Checks a postgresql:// URL with libpq's own parser; the error never
// contains the URL.
Status ValidateUrl(std::string_view url);

// The fields of a connection string or URL as libpq parses them, without the
// password and without empty fields.
Result<std::vector<std::pair<std::string, std::string>>> ParseConninfo(
    std::string_view conninfo);

// "host=db.internal port=5432 user=monitor dbname=postgres": what a log line
// may say about a target. Never contains a password.
std::string DescribeTarget(const TargetConfig& target);

// Replaces every occurrence of the target's known secrets in `text` (an
// error message from libpq, say) by "<redacted>".
std::string RedactSecrets(std::string_view text, const TargetConfig& target);

}  // namespace pgconn

#endif  // PGCONN_AGENT_CONFIG_DSN_H_
