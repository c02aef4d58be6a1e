// UTF-8 validity for text a server or a client controls (database, role and
// application names end up in label values, which must be UTF-8).
#ifndef PGCONN_AGENT_UTIL_UTF8_H_
#define PGCONN_AGENT_UTIL_UTF8_H_

#include <string>
#include <string_view>

namespace pgconn {

// Length of the well-formed sequence at the start of `s` (1 to 4), or 0 if
// `s` is empty or its first byte does not start one (RFC 3629, table 3-7
// of the Unicode standard).
size_t Utf8SequenceLength(std::string_view s);

// True if `text` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// `text` with every byte that does not start or continue a well-formed
// sequence replaced by U+FFFD, one replacement per bad byte (so "a\xff\xfe"
// and "a\xff" stay distinct). Valid input comes back unchanged.
std::string ToValidUtf8(std::string_view text);

}  // namespace pgconn

#endif  // PGCONN_AGENT_UTIL_UTF8_H_
