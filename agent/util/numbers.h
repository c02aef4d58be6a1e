// The one strict parser of numbers in text: flags, YAML scalars, environment
// variables, env-file values and the cells of a result set all go through it,
// so that "5", "-1", "1.5" mean the same thing everywhere and no caller can
// forget a check.
//
// The rules:
//   - The whole text is the number: no leading or trailing junk and no
//     whitespace. Callers that accept padded text (YAML scalars, DB_PORT)
//     trim it themselves, visibly.
//   - Integers are an optional '-' and decimal digits (leading zeros are
//     allowed); a '+' is refused, as is anything that does not fit in
//     int64_t.
//   - Doubles are std::from_chars's general format ("1.5", ".5", "-2e3");
//     no hexadecimal, no '+', and only finite values: "nan", "inf" and a
//     text too large or too small for a double are refused.
//   - Range checks are inclusive.
//
// Errors have the code kInvalidData (text that cannot be read as the number
// asked for) and a message that says what is wrong with at most
// kMaxEchoedChars of the text:
//   "x" is not a whole number     "x" is not a number
//   "nan" is not a finite number  "1e999" does not fit in a double
//   70000 is outside [1, 65535]
// The caller adds where the text came from (the flag, the variable,
// file:line:column, the column) and, for configuration, turns it into
// kInvalidArgument. Pure functions; thread-safe.
#ifndef PGCONN_AGENT_UTIL_NUMBERS_H_
#define PGCONN_AGENT_UTIL_NUMBERS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pgconn/status.h"

namespace pgconn {

// How much of a refused text a message repeats.
inline constexpr size_t kMaxEchoedChars = 40;

Result<int64_t> ParseInt64(std::string_view text);
Result<int64_t> ParseInt64InRange(std::string_view text, int64_t min,
                                  int64_t max);

Result<double> ParseDouble(std::string_view text);
Result<double> ParseDoubleInRange(std::string_view text, double min,
                                  double max);

// `text` as a message may repeat it: at most kMaxEchoedChars bytes (cut at a
// UTF-8 character boundary, then "..."), control characters as '?'.
std::string Excerpt(std::string_view text);

}  // namespace pgconn

#endif  // PGCONN_AGENT_UTIL_NUMBERS_H_
