// The agent's own container health check (`pgconn-agent --health-check`):
// one HTTP/1.1 GET over a plain TCP socket, so that an image needs no curl
// and no shell. Only http:// (the probe runs next to the agent, on
// loopback).
#ifndef PGCONN_HEALTH_PROBE_H_
#define PGCONN_HEALTH_PROBE_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/status.h"

namespace pgconn {

struct HttpUrl {
  std::string host;  // without brackets for IPv6
  int port = 80;
  std::string path = "/";
};

// "http://127.0.0.1:9188/healthz", "http://[::1]:9188/healthz". The error
// names what is wrong, never more than an excerpt of the text.
Result<HttpUrl> ParseHttpUrl(std::string_view text);

// GETs the URL and returns the status code, or an error when there is no
// answer within `timeout` (connect, send and receive together). Blocking;
// thread-safe (no shared state).
Result<int> HttpGetStatus(const HttpUrl& url,
                          std::chrono::milliseconds timeout);

}  // namespace pgconn

#endif  // PGCONN_HEALTH_PROBE_H_
