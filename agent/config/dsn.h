// Connection strings as configuration sees them: checked with libpq's own
// parser, and described in logs without their secrets.
#ifndef PGCONN_AGENT_CONFIG_DSN_H_
#define PGCONN_AGENT_CONFIG_DSN_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/status.h"

namespace pgconn {

// A server's TCP port, wherever one is given (YAML "port", DB_PORT, a URL):
// a whole number from kMinPort to kMaxPort. libpq itself checks it only
// when it connects. The error is ParseInt64InRange()'s ("70000 is outside
// [1, 65535]"); it repeats the text, so a caller that must not (a port
// inside a URL) says its own.
inline constexpr int kMinPort = 1;
inline constexpr int kMaxPort = 65535;
Result<int> ParsePort(std::string_view text);

// Checks a postgresql:// URL with libpq's own parser and the option values
// with CheckConnectionOption(); refuses an '@' after the host part (an
// unencoded '/' or '@' in a password). The error never contains any part
// of the URL.
Status ValidateUrl(std::string_view url);

// True for text that starts with postgresql:// or postgres://.
bool IsConnectionUrl(std::string_view text);

// A connection string as libpq's PQconnectdb takes it: a postgresql:// URL
// (ValidateUrl) or key=value pairs ("host=db port=5432 dbname=app"), as
// DATABASE_URL, DATA_SOURCE_NAME and the YAML "url" accept. The error never
// contains the text.
Status ValidateConnectionString(std::string_view text);

// The same for a URL or a "key=value ..." connection string.
Status CheckConnectionString(std::string_view conninfo);

// The rules of the YAML fields for a connection option given in a URL or a
// connection string: sslmode, target_session_attrs, gssencmode,
// channel_binding, connect_timeout (whole seconds, at most
// kMaxConnectTimeout), port (each of a list). Other keywords pass. The
// error names the keyword, never the value.
Status CheckConnectionOption(std::string_view key, std::string_view value);

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
