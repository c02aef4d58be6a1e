// Text from outside (a client's application_name, a role name in a log
// line) made fit for a label value.
#ifndef PGCONN_AGENT_UTIL_LABEL_TEXT_H_
#define PGCONN_AGENT_UTIL_LABEL_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace pgconn {

// `text` cut to at most `max_bytes` at a character boundary, every invalid
// UTF-8 sequence and control character replaced by U+FFFD: what a label
// value that a client chose may become.
std::string BoundedLabelValue(std::string_view text, size_t max_bytes);

}  // namespace pgconn

#endif  // PGCONN_AGENT_UTIL_LABEL_TEXT_H_
