#include "plan/prometheus_client.h"

#include <httplib.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "util/numbers.h"

namespace pgconn {
namespace {

// What an answer may be before it is refused (a week of a big fleet is a
// few megabytes at most; a runaway proxy is not).
constexpr size_t kMaxAnswerBytes = 64u << 20;

struct ParsedUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // as written; brackets kept for IPv6
  int port = 0;
  std::string path;  // prefix without a trailing '/', "" for none
  std::optional<std::string> user, password;
};

Result<ParsedUrl> ParseUrl(std::string_view url) {
  ParsedUrl u;
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument("not a URL (give http://host:port)");
  }
  u.scheme = std::string(url.substr(0, colon));
  if (u.scheme != "http" && u.scheme != "https") {
    return Status::InvalidArgument("scheme " + Excerpt(u.scheme) +
                                   " is not http or https");
  }
  std::string_view rest = url.substr(colon + 3);
  const size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    if (path[0] != '/' || path.find_first_of("?#") != std::string_view::npos) {
      return Status::InvalidArgument(
          "a query or fragment is not allowed in the URL");
    }
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    u.path = std::string(path);
  }
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t c = info.find(':');
    u.user = std::string(info.substr(0, c));
    if (c != std::string_view::npos) {
      u.password = std::string(info.substr(c + 1));
    }
  }
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("unclosed [ in the host");
    }
    u.host = std::string(authority.substr(0, close + 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Status::InvalidArgument("bad host");
      port = after.substr(1);
    }
  } else {
    const size_t c = authority.rfind(':');
    u.host = std::string(authority.substr(0, c));
    if (c != std::string_view::npos) port = authority.substr(c + 1);
  }
  if (u.host.empty()) return Status::InvalidArgument("no host in the URL");
  if (port.empty()) {
    u.port = u.scheme == "https" ? 443 : 80;
  } else {
    auto p = ParseInt64InRange(port, 1, 65535);
    if (!p.ok()) return Status::InvalidArgument("port " + p.status().message());
    u.port = static_cast<int>(*p);
  }
  return u;
}

// The first line of a secret file, without its line ending. Messages name
// the file and the flag, never the content.
Result<std::string> ReadSecretFile(const std::string& path,
                                   std::string_view flag) {
  std::string where = "--";
  where += flag;
  where += "=";
  where += path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument(where + ": cannot be read");
  }
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
    line.pop_back();
  }
  if (line.empty()) {
    return Status::InvalidArgument(where + ": the file is empty");
  }
  return line;
}

std::string Seconds(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g s",
                std::chrono::duration<double>(d).count());
  return buf;
}

// What an httplib transport error means to an operator.
std::string TransportError(httplib::Error e, const PrometheusOptions& o) {
  switch (e) {
    case httplib::Error::Connection:
      return "unreachable (connection refused, or the host is unknown)";
    case httplib::Error::ConnectionTimeout:
      return "no connection within " + Seconds(o.timeout) +
             " (--query-timeout)";
    case httplib::Error::Read:
      return "no complete answer within " + Seconds(o.timeout) +
             " (--query-timeout), or the connection was closed";
    case httplib::Error::Write:
      return "the request could not be sent (connection closed)";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed (is it an https server?)";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load the CA certificates (--tls-ca-file)";
    case httplib::Error::SSLServerVerification:
      return "the server's TLS certificate is not trusted (give its CA "
             "with --tls-ca-file)";
    default:
      return "request failed (" + httplib::to_string(e) + ")";
  }
}

class HttpPrometheus final : public PromQuerier {
 public:
  HttpPrometheus(ParsedUrl url, std::string described,
                 const PrometheusOptions& options,
                 std::optional<std::pair<std::string, std::string>> basic,
                 std::optional<std::string> bearer)
      : url_(std::move(url)),
        described_(std::move(described)),
        options_(options),
        client_(url_.scheme + "://" + url_.host + ":" +
                std::to_string(url_.port)) {
    const auto t = options.timeout;
    client_.set_connection_timeout(t);
    client_.set_read_timeout(t);
    client_.set_write_timeout(t);
    client_.set_keep_alive(true);
    if (basic) client_.set_basic_auth(basic->first, basic->second);
    if (bearer) client_.set_bearer_token_auth(*bearer);
    if (options.ca_file) client_.set_ca_cert_path(*options.ca_file);
    client_.enable_server_certificate_verification(true);
  }

  Result<std::vector<PromSample>> Query(const std::string& expr,
                                        double time_unix) override {
    char time[64];
    std::snprintf(time, sizeof(time), "%.3f", time_unix);
    const httplib::Params params = {{"query", expr}, {"time", time}};
    const std::string path = url_.path + "/api/v1/query";
    // POST: a week's expression with long label values stays out of URL
    // length limits; Prometheus, Thanos, Mimir and VictoriaMetrics take it.
    httplib::Result res =
        client_.Post(path, httplib::Headers{{"Accept", "application/json"}},
                     httplib::detail::params_to_query_str(params),
                     "application/x-www-form-urlencoded");
    const std::string where = "Prometheus API " + described_;
    if (!res) {
      return Status::Unavailable(where + ": " +
                                 TransportError(res.error(), options_));
    }
    if (res->body.size() > kMaxAnswerBytes) {
      return Status::InvalidData(where + ": the answer is larger than " +
                                 std::to_string(kMaxAnswerBytes >> 20) + " MB");
    }
    auto samples = ParseQueryResponse(
        res->status, res->get_header_value("Content-Type"), res->body);
    if (!samples.ok()) {
      return Status(samples.status().code(),
                    where + ": " + samples.status().message());
    }
    return samples;
  }

  std::string Describe() const override { return described_; }

 private:
  const ParsedUrl url_;
  const std::string described_;
  const PrometheusOptions options_;
  httplib::Client client_;
};

std::string Excerpted(std::string_view body) {
  std::string one_line;
  for (char c : body.substr(0, 200)) {
    one_line += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return Excerpt(one_line);
}

Result<double> SampleValue(const nlohmann::json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string()) {
    return Status::InvalidData("a sample is not [time, \"value\"]");
  }
  const std::string text = pair[1].get<std::string>();
  if (text == "NaN") return std::nan("");
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  auto v = ParseDouble(text);
  if (!v.ok()) {
    return Status::InvalidData("sample value " + v.status().message());
  }
  return *v;
}

}  // namespace

std::string RedactUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "(an invalid URL)";
  const size_t start = scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  std::string_view authority = url.substr(start, end - start);
  const size_t at = authority.rfind('@');
  std::string out(url.substr(0, start));
  if (at != std::string_view::npos) {
    std::string_view info = authority.substr(0, at);
    const size_t c = info.find(':');
    out += std::string(info.substr(0, c));
    if (c != std::string_view::npos) out += ":***";
    out += "@";
    authority = authority.substr(at + 1);
  }
  out += std::string(authority);
  if (end != std::string_view::npos) {
    // A query string may carry a token; it is never shown.
    std::string_view path = url.substr(end);
    const size_t q = path.find_first_of("?#");
    out += std::string(path.substr(0, q));
    if (q != std::string_view::npos) out += "?***";
  }
  return out;
}

std::string PromQLString(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out + "\"";
}

namespace {

// A failed query's own words: its HTTP status, errorType and error.
std::optional<Status> QueryError(int status, const std::string& http,
                                 const nlohmann::json& doc) {
  const std::string state = doc.value("status", "");
  if (status == 200 && state == "success") return std::nullopt;
  std::string what = http;
  if (doc.contains("errorType") && doc["errorType"].is_string()) {
    what += ", " + doc["errorType"].get<std::string>();
  }
  if (doc.contains("error") && doc["error"].is_string()) {
    what += ": " + doc["error"].get<std::string>();
  } else if (status == 200) {
    what += ": status is not \"success\"";
  }
  return Status::InvalidData(what);
}

// One sample of an instant vector: its labels and value.
Result<PromSample> VectorSample(const std::string& http,
                                const nlohmann::json& s) {
  PromSample sample;
  if (!s.is_object()) {
    return Status::InvalidData(http + ": a result is not an object");
  }
  if (const auto m = s.find("metric"); m != s.end() && m->is_object()) {
    for (const auto& [k, v] : m->items()) {
      if (v.is_string()) sample.labels[k] = v.get<std::string>();
    }
  }
  const auto value = s.find("value");
  if (value == s.end()) {
    return Status::InvalidData(http + ": a result has no value");
  }
  auto v = SampleValue(*value);
  if (!v.ok()) return Status::InvalidData(http + ": " + v.status().message());
  sample.value = *v;
  return sample;
}

}  // namespace

Result<std::vector<PromSample>> ParseQueryResponse(
    int status, std::string_view content_type, std::string_view body) {
  const size_t first = body.find_first_not_of(" \t\r\n");
  const bool looks_html =
      content_type.find("html") != std::string_view::npos ||
      (first != std::string_view::npos && body[first] == '<');
  const std::string http = "HTTP " + std::to_string(status);
  if (looks_html) {
    return Status::InvalidData(
        http +
        " answered HTML, not JSON: is the URL the Prometheus server "
        "itself (not Grafana, a login page or a proxy's error page)?");
  }
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidData(http +
                               " answered something that is not "
                               "a JSON object: " +
                               Excerpted(body));
  }
  if (auto error = QueryError(status, http, doc)) return *error;
  const auto data = doc.find("data");
  if (data == doc.end() || !data->is_object()) {
    return Status::InvalidData(http + ": the answer has no data");
  }
  const std::string type = data->value("resultType", "");
  const auto result = data->find("result");
  if (result == data->end()) {
    return Status::InvalidData(http + ": the answer has no result");
  }
  std::vector<PromSample> out;
  if (type == "scalar") {
    auto v = SampleValue(*result);
    if (!v.ok()) return Status::InvalidData(http + ": " + v.status().message());
    out.push_back({{}, *v});
    return out;
  }
  if (type != "vector" || !result->is_array()) {
    return Status::InvalidData(http + ": expected an instant vector, got " +
                               Excerpt(type));
  }
  for (const nlohmann::json& s : *result) {
    auto sample = VectorSample(http, s);
    if (!sample.ok()) return sample.status();
    out.push_back(std::move(*sample));
  }
  return out;
}

Result<std::unique_ptr<PromQuerier>> NewPrometheusClient(
    const PrometheusOptions& options) {
  const std::string described = RedactUrl(options.url);
  auto url = ParseUrl(options.url);
  if (!url.ok()) {
    return Status::InvalidArgument("--from-prometheus=" + described + ": " +
                                   url.status().message());
  }
  std::optional<std::pair<std::string, std::string>> basic;
  if (url->user) basic.emplace(*url->user, url->password.value_or(""));
  if (options.basic_auth_user || options.basic_auth_password_file) {
    if (!options.basic_auth_user || !options.basic_auth_password_file) {
      return Status::InvalidArgument(
          "--basic-auth-user and --basic-auth-password-file go together");
    }
    auto password = ReadSecretFile(*options.basic_auth_password_file,
                                   "basic-auth-password-file");
    if (!password.ok()) return password.status();
    basic.emplace(*options.basic_auth_user, *password);
  }
  std::optional<std::string> bearer;
  if (options.bearer_token_file) {
    if (basic) {
      return Status::InvalidArgument(
          "--bearer-token-file and basic auth (--basic-auth-user, or a user "
          "in the URL) exclude each other");
    }
    auto token =
        ReadSecretFile(*options.bearer_token_file, "bearer-token-file");
    if (!token.ok()) return token.status();
    bearer = *token;
  }
  if (options.ca_file) {
    if (url->scheme != "https") {
      return Status::InvalidArgument("--tls-ca-file needs an https:// URL");
    }
    std::ifstream probe(*options.ca_file);
    if (!probe) {
      return Status::InvalidArgument("--tls-ca-file=" + *options.ca_file +
                                     ": cannot be read");
    }
  }
  if (options.timeout <= Duration(0)) {
    return Status::InvalidArgument("--query-timeout must be positive");
  }
  return std::unique_ptr<PromQuerier>(
      std::make_unique<HttpPrometheus>(std::move(*url), described, options,
                                       std::move(basic), std::move(bearer)));
}

}  // namespace pgconn
