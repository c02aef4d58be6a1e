#include "pgconn/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

namespace pgconn {
namespace {

constexpr char kMetricsContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

bool AcceptsGzip(const httplib::Request& req) {
  const std::string ae = req.get_header_value("Accept-Encoding");
  // A plain token check: "gzip" listed, and not explicitly refused.
  return ae.find("gzip") != std::string::npos &&
         ae.find("gzip;q=0") == std::string::npos &&
         ae.find("gzip; q=0") == std::string::npos;
}

bool KnownPath(const std::string& path) {
  return path == "/" || path == "/metrics" || path == "/healthz" ||
         path == "/readyz" || path == "/api/v1/status";
}

}  // namespace

std::string IndexPage() {
  return "<!DOCTYPE html>\n"
         "<html><head><title>pgconn</title></head><body>\n"
         "<h1>pgconn</h1>\n"
         "<p>PostgreSQL connection monitoring agent " PGCONN_VERSION
         "</p>\n"
         "<ul>\n"
         "<li><a href=\"/metrics\">/metrics</a>: Prometheus metrics</li>\n"
         "<li><a href=\"/healthz\">/healthz</a>: the process is alive</li>\n"
         "<li><a href=\"/readyz\">/readyz</a>: configuration loaded and "
         "every target polled once</li>\n"
         "</ul>\n"
         "</body></html>\n";
}

HttpServer::HttpServer(const ExpositionSource& publisher, const Logger& logger)
    : publisher_(publisher),
      logger_(logger),
      server_(std::make_unique<httplib::Server>()) {
  Route();
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::ServeMetrics(const httplib::Request& req,
                              httplib::Response& res) const {
  std::shared_ptr<const Exposition> e = publisher_.Current();
  const bool gzip = AcceptsGzip(req) && !e->gzip().empty();
  if (gzip) res.set_header("Content-Encoding", "gzip");
  const std::string& body = gzip ? e->gzip() : e->text();
  // A content provider of known length, because httplib would otherwise
  // compress a text/* body again on every scrape. The provider holds the
  // exposition alive until it is written.
  res.set_content_provider(
      body.size(), kMetricsContentType,
      [e, &body](size_t offset, size_t length, httplib::DataSink& sink) {
        sink.write(body.data() + offset, length);
        return true;
      });
}

// The live page and its JSON, built by the publisher once per change.
void HttpServer::ServeStatus(httplib::Response& res, bool json) const {
  std::shared_ptr<const StatusPage> page = publisher_.CurrentPage();
  if (page == nullptr) {
    if (json) {
      res.status = 503;
      res.set_content("no status available\n", "text/plain");
    } else {
      res.set_content(IndexPage(), "text/html; charset=utf-8");
    }
    return;
  }
  const std::string& body = json ? page->json() : page->html();
  res.set_header("Cache-Control", "no-store");
  res.set_content_provider(
      body.size(), json ? "application/json" : "text/html; charset=utf-8",
      [page, &body](size_t offset, size_t length, httplib::DataSink& sink) {
        sink.write(body.data() + offset, length);
        return true;
      });
}

void HttpServer::Route() {
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a
  // second agent bind the same port and silently take half the scrapes.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->set_read_timeout(10, 0);
  server_->set_write_timeout(10, 0);
  server_->set_keep_alive_timeout(30);
  // Everything is answered here, before httplib's router: we decide 404 vs
  // 405, and /metrics serves the body compressed once per poll rather than
  // once per scrape.
  server_->set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        const bool get = req.method == "GET" || req.method == "HEAD";
        if (!KnownPath(req.path)) {
          res.status = 404;
          res.set_content("404 not found: " + req.path + "\n", "text/plain");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (!get) {
          res.status = 405;
          res.set_header("Allow", "GET, HEAD");
          res.set_content("405 method not allowed: " + req.method + "\n",
                          "text/plain");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (req.path == "/metrics") {
          ServeMetrics(req, res);
        } else if (req.path == "/healthz") {
          res.set_content("ok\n", "text/plain");
        } else if (req.path == "/readyz") {
          if (publisher_.Ready()) {
            res.set_content("ready\n", "text/plain");
          } else {
            res.status = 503;
            res.set_content(
                "not ready: waiting for the first poll of every "
                "target\n",
                "text/plain");
          }
        } else if (req.path == "/api/v1/status") {
          ServeStatus(res, /*json=*/true);
        } else {
          ServeStatus(res, /*json=*/false);
        }
        return httplib::Server::HandlerResponse::Handled;
      });
}

Status HttpServer::Bind(const ListenAddress& address) {
  if (address.port == 0) {
    port_ = server_->bind_to_any_port(address.host);
    if (port_ <= 0) {
      return Status::Unavailable("cannot listen on " + address.host + ":0");
    }
  } else {
    if (!server_->bind_to_port(address.host, address.port)) {
      return Status::Unavailable("cannot listen on " + address.host + ":" +
                                 std::to_string(address.port) +
                                 " (in use, or not an address of this "
                                 "machine?)");
    }
    port_ = address.port;
  }
  return Status::Ok();
}

Status HttpServer::Serve() {
  if (!server_->listen_after_bind()) {
    return Status::Unavailable("HTTP server stopped with an error");
  }
  return Status::Ok();
}

void HttpServer::Stop() {
  if (server_) server_->stop();
}

}  // namespace pgconn
