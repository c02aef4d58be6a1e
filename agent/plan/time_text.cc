#include "plan/time_text.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>

#include "util/numbers.h"

namespace pgconn {
namespace {

bool Digits(std::string_view s, size_t at, size_t n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// The fraction of a second at text[*i] (".123"), 0 if there is none;
// moves *i past it. Null for a dot without digits.
std::optional<double> Fraction(std::string_view text, size_t* i) {
  double fraction = 0;
  if (*i >= text.size() || text[*i] != '.') return fraction;
  double scale = 0.1;
  ++*i;
  const size_t start = *i;
  while (*i < text.size() && text[*i] >= '0' && text[*i] <= '9') {
    fraction += (text[*i] - '0') * scale;
    scale /= 10;
    ++*i;
  }
  if (*i == start) return std::nullopt;
  return fraction;
}

// The zone that ends the text at text[i], "Z" or "+HH:MM" / "-HH:MM", as
// seconds east of UTC; null for anything else.
std::optional<int> ZoneOffsetSeconds(std::string_view text, size_t i) {
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z') &&
      i + 1 == text.size()) {
    return 0;
  }
  if (i < text.size() && (text[i] == '+' || text[i] == '-') &&
      i + 6 == text.size() && text[i + 3] == ':') {
    int oh, om;
    if (!Digits(text, i + 1, 2, &oh) || !Digits(text, i + 4, 2, &om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    return (oh * 60 + om) * 60 * (text[i] == '-' ? -1 : 1);
  }
  return std::nullopt;
}

}  // namespace

Result<double> ParseTimeText(std::string_view text) {
  std::string message = "\"";
  message += Excerpt(text);
  message +=
      "\" is not a time (RFC 3339 such as 2026-12-07T14:00:00Z, or Unix "
      "seconds)";
  const Status bad = Status::InvalidArgument(message);
  if (auto v = ParseDouble(text); v.ok()) {
    if (*v < 0) return bad;
    return *v;
  }
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int year, month, day, hour, minute, second;
  if (!Digits(text, 0, 4, &year) || text.size() < 20 || text[4] != '-' ||
      !Digits(text, 5, 2, &month) || text[7] != '-' ||
      !Digits(text, 8, 2, &day) || (text[10] != 'T' && text[10] != 't') ||
      !Digits(text, 11, 2, &hour) || text[13] != ':' ||
      !Digits(text, 14, 2, &minute) || text[16] != ':' ||
      !Digits(text, 17, 2, &second)) {
    return bad;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return bad;
  }
  size_t i = 19;
  const std::optional<double> fraction = Fraction(text, &i);
  const std::optional<int> offset = ZoneOffsetSeconds(text, i);
  if (!fraction || !offset) return bad;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const time_t t = timegm(&tm);
  // timegm normalizes 2026-02-31 into March: refuse what it moved.
  std::tm back{};
  gmtime_r(&t, &back);
  if (back.tm_mday != day && second != 60) return bad;
  return static_cast<double>(t - *offset) + *fraction;
}

std::string FormatRfc3339(double unix_seconds) {
  const double whole = std::floor(unix_seconds);
  const time_t t = static_cast<time_t>(whole);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  const int ms = static_cast<int>(std::llround((unix_seconds - whole) * 1000));
  if (ms == 0 || ms == 1000) {
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  } else {
    char base[32];
    std::strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf, sizeof(buf), "%s.%03dZ", base, ms);
  }
  return buf;
}

std::string HumanDuration(double seconds) {
  char buf[64];
  if (seconds < 60) {
    std::snprintf(buf, sizeof(buf), "%g s", std::round(seconds * 10) / 10);
    return buf;
  }
  int64_t s = std::llround(seconds);
  const int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
  s %= 60;
  std::string out;
  auto add = [&out](int64_t n, const char* unit) {
    if (n == 0) return;
    if (!out.empty()) out += " ";
    out += std::to_string(n) + unit;
  };
  add(d, "d");
  add(h, "h");
  if (d == 0) add(m, "m");
  if (d == 0 && h == 0) add(s, "s");
  return out;
}

}  // namespace pgconn
