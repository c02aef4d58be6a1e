// The HTTP front door: /metrics, /probe, /healthz, /readyz, an index page
// and, when enabled, POST /-/reload. Handlers only read the last published
// exposition; no request ever touches a database.
#ifndef PGCONN_HTTP_SERVER_H_
#define PGCONN_HTTP_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/log.h"
#include "pgconn/publisher.h"
#include "pgconn/status.h"

namespace pgconn {

struct HttpServerOptions {
  std::string telemetry_path = "/metrics";
  // exporter-toolkit's web configuration file; empty: plain HTTP, no auth.
  // Re-read when it (or a certificate it names) changes, checked on every
  // new connection.
  std::string web_config_file;
  size_t max_header_bytes = 16 * 1024;  // request line and headers
  size_t max_header_count = 100;
  // From a request's first byte to its last header byte (slowloris).
  std::chrono::milliseconds header_timeout{5000};
  // How long a kept-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60000};
  // To write one response.
  std::chrono::milliseconds write_timeout{10000};
  // Open connections; when full, the oldest idle one is closed first.
  size_t max_connections = 512;
  // POST /-/reload calls it (--web.enable-lifecycle); unset: no such route.
  std::function<Status()> reload;
  // How long Stop() lets in-flight responses finish.
  std::chrono::milliseconds shutdown_grace{500};
};

// One I/O thread serves every connection: Bind() then Serve() on that
// thread; Stop() from any thread. Thread-safe in that sense only.
class HttpServer {
 public:
  HttpServer(const ExpositionSource& publisher, const Logger& logger,
             HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Reads the web configuration file (if any): an error names the file,
  // line and key. Bind() calls it when it has not been called.
  Status LoadWebConfig();
  // Binds one more listening socket (port 0 picks a free one).
  Status Bind(const ListenAddress& address);
  // The port of the first bound socket.
  int port() const;
  // "host:port" of every bound socket, IPv6 hosts in brackets.
  std::vector<std::string> BoundAddresses() const;
  // Serves until Stop(): then stops accepting, closes idle connections,
  // lets in-flight responses finish (within shutdown_grace) and returns.
  Status Serve();
  void Stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The text of the index page.
std::string IndexPage();

}  // namespace pgconn

#endif  // PGCONN_HTTP_SERVER_H_
