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

// The password keyword of a connection string (URL or key=value) as libpq
// reads it; empty when there is none or the text does not parse.
std::string ConninfoPassword(std::string_view conninfo) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> opts(
      PQconninfoParse(std::string(conninfo).c_str(), &err));
  std::unique_ptr<char, PqFreeDeleter> err_holder(err);
  if (!opts) return "";
  for (PQconninfoOption* o = opts.get(); o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) {
      return o->val;
    }
  }
  return "";
}

std::string RedactUrlPassword(std::string_view message, std::string_view url) {
  std::string out(message);
  const std::string raw = UrlPasswordRaw(url);
  ReplaceAll(out, raw);
  ReplaceAll(out, PercentDecode(raw));
  // key=value strings and ?password= in URLs.
  ReplaceAll(out, ConninfoPassword(url));
  return out;
}

Status CheckPorts(const PQconninfoOption* opts, std::string_view text,
                  std::string_view what);

std::string ChompNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

Result<int> ParsePort(std::string_view text) {
  auto p = ParseInt64InRange(text, kMinPort, kMaxPort);
  if (!p.ok()) return p.status();
  return static_cast<int>(*p);
}

Status ValidateUrl(std::string_view url) {
  if (!IsConnectionUrl(url)) {
    return Status::InvalidArgument("not a postgresql:// or postgres:// URL");
  }
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> opts(
      PQconninfoParse(std::string(url).c_str(), &err));
  std::unique_ptr<char, PqFreeDeleter> err_holder(err);
  if (!opts) {
    std::string msg = err ? ChompNewlines(err) : "cannot be parsed";
    return Status::InvalidArgument("invalid URL: " +
                                   RedactUrlPassword(msg, url));
  }
  return CheckPorts(opts.get(), url, "invalid URL: ");
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
  return CheckPorts(opts.get(), text, "invalid connection string: ");
}

namespace {

Status CheckPorts(const PQconninfoOption* opts, std::string_view text,
                  std::string_view what) {
  // libpq checks ports only when connecting; refuse a bad one now.
  for (const PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) != "port" || o->val == nullptr) continue;
    std::string_view ports(o->val);
    while (!ports.empty()) {
      const auto comma = ports.find(',');
      const std::string_view p = ports.substr(0, comma);
      if (!ParsePort(p).ok()) {
        return Status::InvalidArgument(std::string(what) + "port \"" +
                                       RedactUrlPassword(std::string(p), text) +
                                       "\" is not a number from " +
                                       std::to_string(kMinPort) + " to " +
                                       std::to_string(kMaxPort));
      }
      if (comma == std::string_view::npos) break;
      ports.remove_prefix(comma + 1);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ParseConninfo(
    std::string_view conninfo) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> opts(
      PQconninfoParse(std::string(conninfo).c_str(), &err));
  std::unique_ptr<char, PqFreeDeleter> err_holder(err);
  if (!opts) {
    std::string msg = err ? ChompNewlines(err) : "cannot be parsed";
    return Status::InvalidArgument(RedactUrlPassword(msg, conninfo));
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
      out += k + "=" + v;
    }
  }
  return out.empty() ? "(libpq defaults)" : out;
}

std::string RedactSecrets(std::string_view text, const TargetConfig& target) {
  std::string out(text);
  ReplaceAll(out, target.password.Reveal());
  if (!target.url.empty()) out = RedactUrlPassword(out, target.url.Reveal());
  if (!target.password_file.empty()) {
    auto pw = ReadPasswordFile(target.password_file);
    if (pw.ok()) ReplaceAll(out, pw->Reveal());
  }
  return out;
}

}  // namespace pgconn
