#include "config/dsn.h"

#include <libpq-fe.h>

#include <algorithm>
#include <memory>

#include "util/numbers.h"

namespace pgconn {
namespace {

struct ConninfoDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
struct PqFreeDeleter {
  void operator()(char* p) const { PQfreemem(p); }
};

// libpq accepts these keywords; DescribeTarget prints only these.
constexpr std::string_view kDescribed[] = {"host", "hostaddr", "port",
                                           "user", "dbname",   "sslmode"};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int h = HexDigit(s[i + 1]), l = HexDigit(s[i + 2]);
      if (h >= 0 && l >= 0) {
        out += static_cast<char>(h * 16 + l);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// The password part of postgresql://user:password@host/..., raw (as written).
std::string UrlPasswordRaw(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  const auto start = scheme + 3;
  const auto at = url.find('@', start);
  if (at == std::string_view::npos) return "";
  const auto slash = url.find('/', start);
  if (slash != std::string_view::npos && slash < at) return "";
  const auto colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return "";
  return std::string(url.substr(colon + 1, at - colon - 1));
}

void ReplaceAll(std::string& text, const std::string& needle) {
  if (needle.empty()) return;
  size_t pos = 0;
  while ((pos = text.find(needle, pos)) != std::string::npos) {
    text.replace(pos, needle.size(), "<redacted>");
    pos += 10;
  }
}

std::string RedactUrlPassword(std::string_view message, std::string_view url) {
  std::string out(message);
  const std::string raw = UrlPasswordRaw(url);
  ReplaceAll(out, raw);
  ReplaceAll(out, PercentDecode(raw));
  return out;
}

std::string ChompNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// libpq's parse errors quote the input they stumbled on ("invalid
// percent-encoded token: \"<part of a password>\""), and a quoted part may
// itself hold quotes. Every such message starts with a fixed phrase before
// its first quote; only that phrase is kept, reworded where the phrase
// alone would not say enough.
std::string WithoutQuotedInput(const std::string& message) {
  static constexpr std::pair<std::string_view, std::string_view> kReworded[] = {
      {"missing \"=\" after", "a keyword without \"=\""},
      {"end of string reached when looking for matching",
       "no \"]\" closes an IPv6 host address"},
      {"unexpected character", "an unexpected character after the host"},
      {"extra key/value separator", "a query parameter with two \"=\""},
      {"missing key/value separator", "a query parameter without \"=\""},
  };
  for (const auto& [prefix, text] : kReworded) {
    if (message.rfind(prefix, 0) == 0) return std::string(text);
  }
  std::string out = message.substr(0, message.find('"'));
  while (!out.empty() && (out.back() == ' ' || out.back() == ':')) {
    out.pop_back();
  }
  return out.empty() ? "cannot be parsed" : out;
}

}  // namespace

Result<int> ParsePort(std::string_view text) {
  auto p = ParseInt64InRange(text, kMinPort, kMaxPort);
  if (!p.ok()) return p.status();
  return static_cast<int>(*p);
}

Status ValidateUrl(std::string_view url) {
  if (url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0) {
    return Status::InvalidArgument("not a postgresql:// or postgres:// URL");
  }
  // A '/' or '@' of a password written as is (generated base64 passwords
  // have them) makes libpq read part of the password as host, port or
  // database, which would then show in the target label and the logs.
  const std::string_view rest = url.substr(url.find("://") + 3);
  const size_t path = rest.find_first_of("/?");
  const size_t query = rest.find('?');
  const size_t at_in_path =
      rest.find('@', path == std::string_view::npos ? rest.size() : path);
  if (at_in_path != std::string_view::npos &&
      (query == std::string_view::npos || at_in_path < query)) {
    return Status::InvalidArgument(
        "invalid URL: an '@' after the host part; a '/' or '@' in the user "
        "name or password must be percent-encoded (%2F, %40)");
  }
  auto s = CheckConnectionString(url);
  if (!s.ok()) return Status::InvalidArgument("invalid URL: " + s.message());
  return Status::Ok();
}

bool IsConnectionUrl(std::string_view text) {
  return text.rfind("postgresql://", 0) == 0 ||
         text.rfind("postgres://", 0) == 0;
}

Status ValidateConnectionString(std::string_view text) {
  if (IsConnectionUrl(text)) return ValidateUrl(text);
  if (text.find('=') == std::string_view::npos) {
    return Status::InvalidArgument(
        "not a postgresql:// or postgres:// URL, nor a key=value "
        "connection string");
  }
  {
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoDeleter> opts(
        PQconninfoParse(std::string(text).c_str(), &err));
    std::unique_ptr<char, PqFreeDeleter> err_holder(err);
    if (!opts) {
      // libpq's message quotes the text it stopped at, which may be a
      // password: only the kind of mistake is said.
      return Status::InvalidArgument(
          "invalid key=value connection string (libpq cannot parse it: "
          "unknown keyword, missing \"=\" or unterminated quote)");
    }
  }
  auto s = CheckConnectionString(text);
  if (!s.ok()) {
    return Status::InvalidArgument("invalid connection string: " + s.message());
  }
  return Status::Ok();
}

Status CheckConnectionString(std::string_view conninfo) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> opts(
      PQconninfoParse(std::string(conninfo).c_str(), &err));
  std::unique_ptr<char, PqFreeDeleter> err_holder(err);
  if (!opts) {
    return Status::InvalidArgument(err ? WithoutQuotedInput(ChompNewlines(err))
                                       : "cannot be parsed");
  }
  for (PQconninfoOption* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view key(o->keyword), value(o->val);
    if (key == "host" && value.find('@') != std::string_view::npos) {
      return Status::InvalidArgument(
          "host has an '@'; a '/' or '@' in the user name or password must "
          "be percent-encoded (%2F, %40)");
    }
    if (auto v = CheckConnectionOption(key, value); !v.ok()) return v;
  }
  return Status::Ok();
}

Status CheckConnectionOption(std::string_view key, std::string_view value) {
  const auto one_of = [&](std::initializer_list<std::string_view> allowed) {
    std::string list;
    for (auto a : allowed) {
      if (a == value) return Status::Ok();
      if (!list.empty()) list += ", ";
      list += a;
    }
    return Status::InvalidArgument(std::string(key) + " is not one of " + list);
  };
  if (key == "sslmode") {
    return one_of(
        {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"});
  }
  if (key == "target_session_attrs") {
    return one_of({"any", "read-write", "read-only", "primary", "standby",
                   "prefer-standby"});
  }
  if (key == "gssencmode") return one_of({"disable", "prefer", "require"});
  if (key == "channel_binding") return one_of({"disable", "prefer", "require"});
  if (key == "connect_timeout") {
    if (!ParseInt64InRange(value, 0, kMaxConnectTimeout.count() / 1000).ok()) {
      return Status::InvalidArgument(
          "connect_timeout is not a whole number of seconds from 0 to " +
          std::to_string(kMaxConnectTimeout.count() / 1000));
    }
    return Status::Ok();
  }
  if (key == "port") {
    // libpq checks ports only when connecting; refuse a bad one now.
    std::string_view ports = value;
    while (true) {
      const auto comma = ports.find(',');
      const std::string_view p = ports.substr(0, comma);
      if (!p.empty() && !ParsePort(p).ok()) {
        return Status::InvalidArgument("port is not a number from " +
                                       std::to_string(kMinPort) + " to " +
                                       std::to_string(kMaxPort));
      }
      if (comma == std::string_view::npos) break;
      ports.remove_prefix(comma + 1);
    }
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, std::string>>> ParseConninfo(
    std::string_view conninfo) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> opts(
      PQconninfoParse(std::string(conninfo).c_str(), &err));
  std::unique_ptr<char, PqFreeDeleter> err_holder(err);
  if (!opts) {
    return Status::InvalidArgument(err ? WithoutQuotedInput(ChompNewlines(err))
                                       : "cannot be parsed");
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (PQconninfoOption* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr || o->val[0] == '\0') continue;
    if (std::string_view(o->keyword) == "password") continue;
    out.emplace_back(o->keyword, o->val);
  }
  return out;
}

std::string DescribeTarget(const TargetConfig& target) {
  std::vector<std::pair<std::string, std::string>> fields;
  if (!target.url.empty()) {
    auto parsed = ParseConninfo(target.url.Reveal());
    if (parsed.ok()) fields = *parsed;
  } else {
    if (!target.host.empty()) fields.emplace_back("host", target.host);
    if (!target.port.empty()) fields.emplace_back("port", target.port);
    if (!target.user.empty()) fields.emplace_back("user", target.user);
    if (!target.dbname.empty()) fields.emplace_back("dbname", target.dbname);
    if (!target.sslmode.empty()) fields.emplace_back("sslmode", target.sslmode);
  }
  std::string out;
  for (auto key : kDescribed) {
    for (const auto& [k, v] : fields) {
      if (k != key) continue;
      if (!out.empty()) out += ' ';
      // A value with blanks, quotes or backslashes is a connection string
      // gone wrong (an escaped blank can make "password=..." part of the
      // user name): not repeated.
      const bool plain =
          v.size() <= 256 && std::none_of(v.begin(), v.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u <= 0x20 || u == 0x7f || c == '\'' || c == '"' || c == '\\';
          });
      out += k + "=" + (plain ? v : "(not shown)");
    }
  }
  return out.empty() ? "(libpq defaults)" : out;
}

std::string RedactSecrets(std::string_view text, const TargetConfig& target) {
  std::string out(text);
  ReplaceAll(out, target.password.Reveal());
  if (!target.url.empty()) {
    out = RedactUrlPassword(out, target.url.Reveal());
    // A password given as "?password=..." (or password=... in a connection
    // string), as libpq decodes it.
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoDeleter> opts(
        PQconninfoParse(target.url.Reveal().c_str(), &err));
    std::unique_ptr<char, PqFreeDeleter> err_holder(err);
    for (PQconninfoOption* o = opts.get();
         o != nullptr && o->keyword != nullptr; ++o) {
      if (o->val != nullptr && std::string_view(o->keyword) == "password") {
        ReplaceAll(out, o->val);
      }
    }
  }
  if (!target.password_file.empty()) {
    auto pw = ReadPasswordFile(target.password_file);
    if (pw.ok()) ReplaceAll(out, pw->Reveal());
  }
  return out;
}

}  // namespace pgconn
