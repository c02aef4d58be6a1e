// The checks every source of configuration shares (the YAML file, flags,
// the environment): trimming, whether a value may be repeated in a message,
// how a limit is written, and what a target's name may be.
#ifndef PGCONN_AGENT_CONFIG_VALUE_CHECKS_H_
#define PGCONN_AGENT_CONFIG_VALUE_CHECKS_H_

#include <string>
#include <string_view>

#include "pgconn/config.h"
#include "pgconn/status.h"

namespace pgconn::detail {

// Numbers in YAML scalars, DB_PORT, listen addresses and durations may be
// padded with whitespace (a quoted " 5432 "); it is trimmed here because the
// number parser itself is strict.
std::string Trim(std::string_view s);

// A key or a value of the operator's, repeated in a message only when it is
// short and made of name characters (and of `extra`): anything else may be
// a mistyped secret, or megabytes.
bool IsPlain(std::string_view text, std::string_view extra = "");

// `text` in double quotes.
std::string Quoted(std::string_view text);

// `text` in double quotes when IsPlain(text), else `instead`.
std::string QuotedIfPlain(std::string_view text, std::string_view instead);

// A maximum duration as the documentation writes it: "24h", "10m", "5s".
std::string FormatLimit(Duration d);

// The `target` label of every series and of every log line: at most 128
// bytes without blanks, control characters, quotes or backslashes. Anything
// else is most likely a quoting mistake that swallowed the next lines (and
// a password with them), so the name is not repeated. `where` starts the
// message.
Status CheckTargetName(std::string_view name, const std::string& where);

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_CONFIG_VALUE_CHECKS_H_
