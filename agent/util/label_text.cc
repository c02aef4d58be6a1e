#include "util/label_text.h"

#include "util/utf8.h"

namespace pgconn {

std::string BoundedLabelValue(std::string_view text, size_t max_bytes) {
  std::string out;
  while (!text.empty()) {
    const size_t len = Utf8SequenceLength(text);
    const auto b = static_cast<unsigned char>(text[0]);
    const bool control = len == 1 && (b < 0x20 || b == 0x7F);
    const std::string_view piece =
        len > 0 && !control ? text.substr(0, len) : "\xEF\xBF\xBD";
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    text.remove_prefix(len > 0 ? len : 1);
  }
  return out;
}

}  // namespace pgconn
