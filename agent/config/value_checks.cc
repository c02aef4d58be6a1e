#include "config/value_checks.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>

#include "config/dsn.h"
#include "util/numbers.h"

namespace pgconn {
namespace detail {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

bool IsPlain(std::string_view text, std::string_view extra) {
  return !text.empty() && text.size() <= 64 &&
         std::all_of(text.begin(), text.end(), [&](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                  c == '.' || c == '-' || c == '+' ||
                  extra.find(c) != std::string_view::npos;
         });
}

std::string QuotedIfPlain(std::string_view text, std::string_view instead) {
  return IsPlain(text) ? Quoted(text) : std::string(instead);
}

// Appended piece by piece: GCC 12 at -O2 takes "\"" + std::string(...)
// for an overlapping memcpy once inlined (-Wrestrict, an error in the
// Release image).
std::string Quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

std::string FormatLimit(Duration d) {
  const int64_t ms = d.count();
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// The `target` label of every series and of every log line: at most 128
// bytes without blanks, control characters, quotes or backslashes. Anything
// else is most likely a quoting mistake that swallowed the next lines (and
// a password with them), so the name is not repeated.
Status CheckTargetName(std::string_view name, const std::string& where) {
  const bool ok =
      !name.empty() && name.size() <= 128 &&
      std::none_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f || c == '\'' || c == '"' || c == '\\';
      });
  if (ok) return Status::Ok();
  return Status::InvalidArgument(
      where +
      ": a target name has 1 to 128 bytes without blanks, control "
      "characters, quotes or backslashes");
}

}  // namespace detail

namespace {

// The most a duration may count, in seconds or in any one unit, and in
// all (about 31 years: nanoseconds of it still fit in 64 bits).
constexpr int64_t kMaxDurationNumber = 1'000'000'000;
constexpr int64_t kMaxDurationMs = kMaxDurationNumber * 1000;

}  // namespace

using detail::Trim;

std::string_view TargetKindName(TargetKind kind) {
  return kind == TargetKind::kPgBouncer ? "pgbouncer" : "postgres";
}

Result<Duration> ParseDuration(std::string_view text) {
  const std::string t = Trim(text);
  if (t.empty()) return Status::InvalidArgument("empty duration");
  const std::string quoted = detail::Quoted(Excerpt(t));
  // A bare number means seconds (YAML users write `poll_interval: 5`).
  if (auto secs = ParseDouble(t); secs.ok()) {
    if (*secs < 0 || *secs > kMaxDurationNumber) {
      return Status::InvalidArgument(quoted + " is not a valid duration");
    }
    return Duration(static_cast<int64_t>(std::llround(*secs * 1000)));
  }
  const Status not_a_duration = Status::InvalidArgument(
      quoted + " is not a duration (examples: 500ms, 5s, 1m30s, 2h)");
  const Status too_long = Status::InvalidArgument(quoted + " is too long");
  int64_t total_ms = 0;
  size_t i = 0;
  while (i < t.size()) {
    size_t j = i;
    while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j]))) ++j;
    if (j == i) return not_a_duration;
    size_t k = j;
    while (k < t.size() && std::isalpha(static_cast<unsigned char>(t[k]))) ++k;
    const std::string unit = t.substr(j, k - j);
    int64_t ms_per = 0;
    if (unit == "ms") {
      ms_per = 1;
    } else if (unit == "s") {
      ms_per = 1000;
    } else if (unit == "m") {
      ms_per = 60'000;
    } else if (unit == "h") {
      ms_per = 3'600'000;
    } else if (unit == "d") {
      ms_per = 86'400'000;
    } else {
      return not_a_duration;
    }
    auto n = ParseInt64InRange(std::string_view(t).substr(i, j - i), 0,
                               kMaxDurationNumber);
    if (!n.ok()) return too_long;
    const int64_t ms = *n * ms_per;  // at most 8.64e16: no overflow
    if (ms > kMaxDurationMs) return too_long;
    if (total_ms > kMaxDurationMs - ms) return too_long;
    total_ms += ms;
    i = k;
  }
  return Duration(total_ms);
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const std::string t(text);
  std::string host, port;
  if (!t.empty() && t[0] == '[') {
    const auto close = t.find(']');
    if (close == std::string::npos || close + 1 >= t.size() ||
        t[close + 1] != ':') {
      return Status::InvalidArgument("\"" + t +
                                     "\" is not HOST:PORT, [IPv6]:PORT or "
                                     ":PORT");
    }
    host = t.substr(1, close - 1);
    port = t.substr(close + 2);
  } else {
    const auto colon = t.rfind(':');
    if (colon == std::string::npos) {
      return Status::InvalidArgument("\"" + t +
                                     "\" is not HOST:PORT, [IPv6]:PORT or "
                                     ":PORT");
    }
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
  }
  // Port 0 asks the kernel for any free port.
  auto p = ParseInt64InRange(Trim(port), 0, kMaxPort);
  if (!p.ok()) {
    return Status::InvalidArgument("\"" + t + "\": port " +
                                   p.status().message());
  }
  ListenAddress out;
  out.host = host.empty() ? "0.0.0.0" : host;
  out.port = static_cast<int>(*p);
  return out;
}

}  // namespace pgconn
