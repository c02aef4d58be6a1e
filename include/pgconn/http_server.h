// The HTTP endpoints: /metrics, /healthz, /readyz, the live status page at
// / and its JSON at /api/v1/status. Handlers only read what the publisher
// last published.
#ifndef PGCONN_HTTP_SERVER_H_
#define PGCONN_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "pgconn/config.h"
#include "pgconn/log.h"
#include "pgconn/publisher.h"
#include "pgconn/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace pgconn {

// Bind() then Serve() on one thread; Stop() from any other. Handlers run on
// the server's worker threads and are thread-safe.
class HttpServer {
 public:
  HttpServer(const ExpositionSource& publisher, const Logger& logger);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket (port 0 picks a free one).
  Status Bind(const ListenAddress& address);
  int port() const { return port_; }
  // Serves until Stop(). Returns an error if the socket failed.
  Status Serve();
  void Stop();

 private:
  void Route();
  void ServeMetrics(const httplib::Request& req, httplib::Response& res) const;
  void ServeStatus(httplib::Response& res, bool json) const;
  const ExpositionSource& publisher_;
  const Logger& logger_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
};

// The text of the index page.
std::string IndexPage();

}  // namespace pgconn

#endif  // PGCONN_HTTP_SERVER_H_
