// The HTTP server's inside, shared by http_server.cc (routes, handlers,
// listening, shutdown) and connection.cc (one connection's reads and
// writes). Private to pgconn_http.
#ifndef PGCONN_AGENT_HTTP_SERVER_IMPL_H_
#define PGCONN_AGENT_HTTP_SERVER_IMPL_H_

#include <openssl/ssl.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <optional>
#include <stdexcept>

#include "expose/exposition_part.h"
#include "http/basic_auth.h"
#include "http/discovery.h"
#include "http/self_metrics.h"
#include "http/web_config.h"
#include "http/web_state.h"
#include "pgconn/http_server.h"
#include "pgconn/thread_guard.h"

namespace pgconn {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

inline constexpr char kTextContentType[] = "text/plain; charset=utf-8";

// The plain index page, when the publisher has no status page.
std::string IndexPage();

struct RequestView {
  bhttp::verb method;
  std::string_view path;
  std::string_view query;
  const bhttp::request<bhttp::string_body>& message;
};

struct Response {
  int status = 200;
  std::string content_type = kTextContentType;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the body is `view` (kept alive by `hold`) then `tail`.
  std::shared_ptr<const Exposition> hold;
  std::string_view view;
  std::string tail;
  bool head = false;  // HEAD: headers only

  void Text(int code, std::string text) {
    status = code;
    content_type = kTextContentType;
    body = std::move(text);
  }
  size_t BodySize() const {
    return hold ? view.size() + tail.size() : body.size();
  }
};

class Connection {
 public:
  enum class State { kHandshake, kIdle, kReading, kAuthenticating, kWriting };
  virtual ~Connection() = default;
  virtual void Close() = 0;
  State state = State::kHandshake;
  bool closed = false;
  std::list<Connection*>::iterator position;
};

class HttpServer::Impl {
 public:
  Impl(const ExpositionSource& publisher, const Logger& logger,
       HttpServerOptions options)
      : publisher_(publisher),
        logger_(logger),
        options_(std::move(options)),
        boot_time_(BootTimeSeconds()),
        grace_timer_(ioc_),
        accept_retry_(ioc_) {
    AddRoutes();
  }
  ~Impl() { destroying_ = true; }

  Status LoadWebConfig();
  Status Bind(const ListenAddress& address);
  Status Serve();
  void Stop() {
    asio::post(ioc_, [this] { BeginShutdown(); });
  }
  int port() const { return ports_.empty() ? 0 : ports_.front(); }
  std::vector<std::string> BoundAddresses() const { return bound_; }

  // Called by connections, on the I/O thread.
  void Register(Connection* c) {
    c->position = connections_.insert(connections_.end(), c);
    ++stats_.open_connections;
  }
  void Closed() { --stats_.open_connections; }
  void Unregister(Connection* c) {
    connections_.erase(c->position);
    if (stopping_ && stats_.open_connections == 0 && !destroying_) {
      grace_timer_.cancel();
    }
  }
  void Handle(const RequestView& req, Response& res);
  void Count(const std::string& handler, int status) {
    ++stats_.requests[{handler, status}];
  }
  bool stopping() const { return stopping_; }
  const HttpServerOptions& options() const { return options_; }
  asio::io_context& ioc() { return ioc_; }
  asio::thread_pool& auth_pool() { return auth_pool_; }

 private:
  using Handler = void (Impl::*)(const RequestView&, Response&);
  struct Route {
    std::string path;
    std::string handler;  // the handler label of pgconn_http_requests_total
    std::vector<bhttp::verb> methods;
    std::string allow;  // the Allow header of a 405
    Handler serve;
  };

  // The routing table: one line per endpoint.
  void AddRoutes() {
    const std::vector<bhttp::verb> get = {bhttp::verb::get, bhttp::verb::head};
    AddRoute(options_.telemetry_path, "metrics", get, &Impl::ServeMetrics);
    AddRoute("/probe", "probe", get, &Impl::ServeProbe);
    AddRoute("/discovery", "discovery", get, &Impl::ServeDiscovery);
    AddRoute("/healthz", "healthz", get, &Impl::ServeHealth);
    AddRoute("/readyz", "readyz", get, &Impl::ServeReady);
    AddRoute("/", "index", get, &Impl::ServeIndex);
    AddRoute("/status.css", "index", get, &Impl::ServeIndex);
    AddRoute("/status.js", "index", get, &Impl::ServeIndex);
    AddRoute("/api/v1/status", "status", get, &Impl::ServeStatus);
    if (options_.reload) {
      AddRoute("/-/reload", "reload", {bhttp::verb::post}, &Impl::ServeReload);
    }
  }
  void AddRoute(std::string path, std::string handler,
                std::vector<bhttp::verb> methods, Handler serve) {
    std::string allow;
    for (bhttp::verb v : methods) {
      if (!allow.empty()) allow += ", ";
      allow += std::string(bhttp::to_string(v));
    }
    routes_.push_back({std::move(path), std::move(handler), std::move(methods),
                       std::move(allow), serve});
  }

  // /proc/self, read at most once per kProcessStatsMaxAge: counting the
  // descriptors of a process holding thousands of sockets is not free, and
  // a flood of scrapes must not pay it on each one.
  std::optional<ProcessStats> ProcessStatsNow() {
    const auto now = std::chrono::steady_clock::now();
    if (!process_stats_ || now - process_stats_at_ >= kProcessStatsMaxAge) {
      process_stats_ = ReadProcessStats(boot_time_);
      process_stats_at_ = now;
    }
    return process_stats_;
  }
  static constexpr std::chrono::milliseconds kProcessStatsMaxAge{1000};

  void ServeMetrics(const RequestView& req, Response& res);
  void ServeProbe(const RequestView& req, Response& res);
  void ServeDiscovery(const RequestView& req, Response& res);
  void ServeHealth(const RequestView&, Response& res) { res.Text(200, "ok\n"); }
  void ServeReady(const RequestView&, Response& res) {
    if (publisher_.Ready()) {
      res.Text(200, "ready\n");
    } else {
      res.Text(503, "not ready: waiting for the first poll of every target\n");
    }
  }
  // The live page (its HTML, style and script: static files) and its JSON,
  // built by the publisher once per change; a source without one gets the
  // plain index page. The page's policy lets it load only its own style
  // and script and fetch only this origin: no inline script runs.
  void ServeIndex(const RequestView& req, Response& res) {
    std::shared_ptr<const StatusPage> page = publisher_.CurrentPage();
    const StatusPage::Asset* asset = page ? page->Find(req.path) : nullptr;
    if (asset == nullptr) {
      if (req.path != "/") {
        return res.Text(404,
                        "404 not found: \"" + std::string(req.path) + "\"\n");
      }
      res.content_type = "text/html; charset=utf-8";
      res.body = IndexPage();
      return;
    }
    res.content_type = std::string(asset->content_type);
    res.body = std::string(asset->body);
    res.headers.emplace_back("Cache-Control", "no-store");
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("Content-Security-Policy", kStatusPagePolicy);
  }
  static constexpr char kStatusPagePolicy[] =
      "default-src 'none'; script-src 'self'; style-src 'self'; "
      "connect-src 'self'; base-uri 'none'; form-action 'none'";
  void ServeStatus(const RequestView&, Response& res) {
    std::shared_ptr<const StatusPage> page = publisher_.CurrentPage();
    if (!page) return res.Text(503, "no status available\n");
    res.content_type = "application/json";
    res.body = page->json();
    res.headers.emplace_back("Cache-Control", "no-store");
  }
  void ServeReload(const RequestView&, Response& res) {
    const Status s = options_.reload();
    if (s.ok()) {
      logger_.Info("configuration reloaded", {{"by", "POST /-/reload"}});
      res.Text(200, "reloaded\n");
    } else {
      logger_.Warn("reload failed", {{"err", s.message()}});
      res.Text(500, "reload failed: " + s.message() + "\n");
    }
  }
  void ServeExposition(const RequestView& req, Response& res,
                       std::shared_ptr<const Exposition> e, bool self);

  void Accept(tcp::acceptor& acceptor);
  void StartConnection(tcp::socket socket);
  std::shared_ptr<const WebState> CurrentWebState();
  void EvictOne();
  void BeginShutdown();

  const ExpositionSource& publisher_;
  const Logger& logger_;
  const HttpServerOptions options_;
  const double boot_time_;
  std::vector<Route> routes_;
  HttpStats stats_;
  std::optional<ProcessStats> process_stats_;
  std::chrono::steady_clock::time_point process_stats_at_;
  // Oldest first. Declared before ioc_: connections left in its queues
  // unregister when it is destroyed.
  std::list<Connection*> connections_;
  std::shared_ptr<const WebState> web_;
  bool tls_ = false;  // fixed at start: a rotation cannot turn TLS off
  bool stopping_ = false;
  bool destroying_ = false;
  std::vector<int> ports_;
  std::vector<std::string> bound_;
  asio::io_context ioc_{1};
  asio::steady_timer grace_timer_;
  asio::steady_timer accept_retry_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  // bcrypt takes tens of milliseconds: never on the I/O thread. Declared
  // last, so joined first.
  asio::thread_pool auth_pool_{1};
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_HTTP_SERVER_IMPL_H_
