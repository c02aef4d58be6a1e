#include "util/numbers.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace pgconn {
namespace {

// Appends rather than writing "\"" + Excerpt(text): GCC 12 at -O3 reports a
// false -Wrestrict on operator+(const char*, std::string&&) (GCC bug 105651).
std::string Quoted(std::string_view text) {
  std::string out = "\"";
  out += Excerpt(text);
  out += '"';
  return out;
}

// Bounds as people write them: 1000000000, not 1e+09.
std::string FormatBound(double v) {
  char buf[64];
  const bool whole = v == std::trunc(v) && std::fabs(v) < 1e15;
  const auto [end, ec] =
      whole ? std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v))
            : std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "?";
  return std::string(buf, end);
}

Status OutsideRange(std::string_view text, const std::string& min,
                    const std::string& max) {
  return Status::InvalidData(Excerpt(text) + " is outside [" + min + ", " +
                             max + "]");
}

enum class Scan { kOk, kNotANumber, kOutOfRange };

// std::from_chars over the whole text: anything left over is not a number.
template <typename T>
Scan ScanWhole(std::string_view text, T* v) {
  if (text.empty()) return Scan::kNotANumber;
  const char* const end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, *v);
  if (p != end) return Scan::kNotANumber;
  if (ec == std::errc::result_out_of_range) return Scan::kOutOfRange;
  return ec == std::errc() ? Scan::kOk : Scan::kNotANumber;
}

}  // namespace

std::string Excerpt(std::string_view text) {
  std::string_view shown = text;
  if (text.size() > kMaxEchoedChars) {
    size_t cut = kMaxEchoedChars;
    // Never split a UTF-8 sequence: back up over continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    shown = text.substr(0, cut);
  }
  std::string out;
  out.reserve(shown.size() + 3);
  for (char c : shown) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F) ? '?' : c;
  }
  if (shown.size() < text.size()) out += "...";
  return out;
}

Result<int64_t> ParseInt64InRange(std::string_view text, int64_t min,
                                  int64_t max) {
  int64_t v = 0;
  const Scan scan = ScanWhole(text, &v);
  if (scan == Scan::kNotANumber) {
    return Status::InvalidData(Quoted(text) + " is not a whole number");
  }
  // Out of int64_t is outside any [min, max] as well.
  if (scan == Scan::kOutOfRange || v < min || v > max) {
    return OutsideRange(text, std::to_string(min), std::to_string(max));
  }
  return v;
}

Result<int64_t> ParseInt64(std::string_view text) {
  return ParseInt64InRange(text, std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max());
}

Result<double> ParseDouble(std::string_view text) {
  double v = 0;
  const Scan scan = ScanWhole(text, &v);
  if (scan == Scan::kNotANumber) {
    return Status::InvalidData(Quoted(text) + " is not a number");
  }
  if (scan == Scan::kOutOfRange) {
    return Status::InvalidData(Quoted(text) + " does not fit in a double");
  }
  if (!std::isfinite(v)) {
    return Status::InvalidData(Quoted(text) + " is not a finite number");
  }
  return v;
}

Result<double> ParseDoubleInRange(std::string_view text, double min,
                                  double max) {
  auto v = ParseDouble(text);
  if (!v.ok()) return v;
  if (*v < min || *v > max) {
    return OutsideRange(text, FormatBound(min), FormatBound(max));
  }
  return v;
}

}  // namespace pgconn
