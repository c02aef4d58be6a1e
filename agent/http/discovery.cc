#include "http/discovery.h"

#include <arpa/inet.h>

#include <cctype>

#include "util/json_writer.h"

namespace pgconn {
namespace {

constexpr size_t kMaxName = 253;  // RFC 1035, without the final dot
constexpr size_t kMaxLabel = 63;

bool IsNameChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '-' || c == '_';
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool ValidIPv4(std::string_view s) {
  int parts = 0;
  while (true) {
    const size_t dot = s.find('.');
    const std::string_view part = s.substr(0, dot);
    // 0 to 255, without leading zeros (which some resolvers read as octal).
    if (!AllDigits(part) || part.size() > 3 ||
        (part.size() > 1 && part[0] == '0') ||
        std::stoi(std::string(part)) > 255) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) break;
    s.remove_prefix(dot + 1);
  }
  return parts == 4;
}

// Labels of name characters, not starting or ending with '-'. A name whose
// last label is all digits must be an IPv4 address ("10.0.0.300" is not a
// name).
bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > kMaxName) return false;
  std::string_view last;
  std::string_view rest = s;
  while (true) {
    const size_t dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > kMaxLabel || label.front() == '-' ||
        label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!IsNameChar(c)) return false;
    }
    last = label;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return AllDigits(last) ? ValidIPv4(s) : true;
}

bool ValidIPv6(std::string_view s) {
  if (s.empty() || s.size() > 45) return false;  // INET6_ADDRSTRLEN - 1
  for (char c : s) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0 && c != ':' &&
        c != '.') {
      return false;
    }
  }
  in6_addr addr;
  return inet_pton(AF_INET6, std::string(s).c_str(), &addr) == 1;
}

bool ValidPort(std::string_view s) {
  if (!AllDigits(s) || s.size() > 5 || s[0] == '0') return false;
  const int port = std::stoi(std::string(s));
  return port >= 1 && port <= 65535;
}

}  // namespace

std::optional<std::string> DiscoveryAddress(std::string_view host) {
  std::string_view name = host;
  std::string_view port;
  bool has_port = false;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    if (!ValidIPv6(host.substr(1, close - 1))) return std::nullopt;
    const std::string_view after = host.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) {
      name = host.substr(0, colon);
      port = host.substr(colon + 1);
      has_port = true;
    }
    if (!ValidName(name)) return std::nullopt;
  }
  if (has_port && !ValidPort(port)) return std::nullopt;
  return std::string(host);
}

std::string DiscoveryDocument(const std::vector<std::string>& targets,
                              std::string_view address) {
  JsonWriter w;
  w.BeginArray();
  for (const std::string& name : targets) {
    w.BeginObject();
    w.Key("targets").BeginArray().String(address).EndArray();
    w.Key("labels").BeginObject();
    w.Key("__metrics_path__").String("/probe");
    w.Key("__param_target").String(name);
    w.Key("target").String(name);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  return w.Take();
}

}  // namespace pgconn
