#include "util/label_text.h"

#include <cstdint>

namespace pgconn {

std::string BoundedLabelValue(std::string_view text, size_t max_bytes) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    size_t len = b < 0x80         ? 1
                 : (b >> 5) == 6  ? 2
                 : (b >> 4) == 14 ? 3
                 : (b >> 3) == 30 ? 4
                                  : 0;
    bool valid = len > 0 && i + len <= text.size();
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) >> 6) == 2;
    }
    if (valid && len > 1) {
      // Overlong forms, surrogates and code points beyond U+10FFFF.
      uint32_t cp = b & (0x7F >> len);
      for (size_t k = 1; k < len; ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
      }
      constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      valid =
          cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp < 0xE000);
    }
    const bool control = valid && len == 1 && (b < 0x20 || b == 0x7F);
    const std::string_view piece =
        valid && !control ? text.substr(i, len) : "\xEF\xBF\xBD";
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += valid ? len : 1;
  }
  return out;
}

}  // namespace pgconn
