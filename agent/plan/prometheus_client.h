// A client of the Prometheus HTTP query API (/api/v1/query), which
// Prometheus serves and so do Thanos, Mimir and VictoriaMetrics: what
// `plan --from-prometheus` reads the agent's history through. The URL, the
// credentials and the timeout come from flags; errors name the URL with any
// password removed (RedactUrl) and say what was wrong, never a secret.
#ifndef PGCONN_AGENT_PLAN_PROMETHEUS_CLIENT_H_
#define PGCONN_AGENT_PLAN_PROMETHEUS_CLIENT_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/status.h"

namespace pgconn {

struct PrometheusOptions {
  // http://host:port[/prefix] or https://...; user:password@ in it works
  // as basic auth (and is never printed).
  std::string url;
  std::optional<std::string> basic_auth_user;
  std::optional<std::string> basic_auth_password_file;
  std::optional<std::string> bearer_token_file;
  std::optional<std::string> ca_file;  // https: trust this CA bundle
  Duration timeout{30000};             // connect, and each read or write
};

// One series of an instant query's answer.
struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Thread-compatible: one caller at a time.
class PromQuerier {
 public:
  virtual ~PromQuerier() = default;
  // The instant query `expr` evaluated at `time_unix` (seconds). A scalar
  // answer is one sample without labels.
  virtual Result<std::vector<PromSample>> Query(const std::string& expr,
                                                double time_unix) = 0;
  // The server's URL as messages may show it (RedactUrl).
  virtual std::string Describe() const = 0;
};

// Checks the options (the URL's form, that the files can be read) and
// builds the client; no request is sent yet.
Result<std::unique_ptr<PromQuerier>> NewPrometheusClient(
    const PrometheusOptions& options);

// `url` without its password: "https://alice:***@host/"; a URL that is not
// one is returned as "(an invalid URL)", since it may hold anything.
std::string RedactUrl(std::string_view url);

// The answer to one query: HTTP `status`, its Content-Type and body. Pure;
// errors say what was wrong (an error answer's errorType and error, HTML
// where JSON was expected, a JSON that is not a query answer).
Result<std::vector<PromSample>> ParseQueryResponse(
    int status, std::string_view content_type, std::string_view body);

// `value` as a PromQL string literal: double quotes, backslash escapes.
std::string PromQLString(std::string_view value);

}  // namespace pgconn

#endif  // PGCONN_AGENT_PLAN_PROMETHEUS_CLIENT_H_
