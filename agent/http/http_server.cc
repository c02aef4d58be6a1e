#include "pgconn/http_server.h"

#include "http/server_impl.h"

namespace pgconn {
namespace {

constexpr char kMetricsContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

bool AcceptsGzip(std::string_view ae) {
  // A plain token check: "gzip" listed, and not explicitly refused.
  return ae.find("gzip") != std::string_view::npos &&
         ae.find("gzip;q=0") == std::string_view::npos &&
         ae.find("gzip; q=0") == std::string_view::npos;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of `name` in a query string, percent-decoded; nullopt if absent.
std::optional<std::string> QueryParam(std::string_view query,
                                      std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    std::string_view raw =
        eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        out.push_back(' ');
      } else if (raw[i] == '%' && i + 2 < raw.size() &&
                 HexValue(raw[i + 1]) >= 0 && HexValue(raw[i + 2]) >= 0) {
        out.push_back(static_cast<char>(HexValue(raw[i + 1]) * 16 +
                                        HexValue(raw[i + 2])));
        i += 2;
      } else {
        out.push_back(raw[i]);
      }
    }
    return out;
  }
  return std::nullopt;
}

// Enough of a client-controlled string to quote in a plain-text answer.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 128)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  if (s.size() > 128) out += "...";
  return out + "\"";
}

std::string HostPort(const tcp::endpoint& e) {
  const auto a = e.address();
  const std::string host =
      a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(e.port());
}

}  // namespace

void HttpServer::Impl::Handle(const RequestView& req, Response& res) {
  for (const Route& r : routes_) {
    if (r.path != req.path) continue;
    bool allowed = false;
    for (bhttp::verb v : r.methods) allowed = allowed || v == req.method;
    if (!allowed) {
      res.Text(405, "405 method not allowed: " +
                        std::string(bhttp::to_string(req.method)) + "\n");
      res.headers.emplace_back("Allow", r.allow);
    } else {
      (this->*r.serve)(req, res);
    }
    Count(r.handler, res.status);
    return;
  }
  res.Text(404, "404 not found: " + Quote(req.path) + "\n");
  Count("other", 404);
}

void HttpServer::Impl::ServeExposition(const RequestView& req, Response& res,
                                       std::shared_ptr<const Exposition> e,
                                       bool self) {
  const auto ae = req.message.find(bhttp::field::accept_encoding);
  const bool wants_gzip = ae != req.message.end() && AcceptsGzip(ae->value());
  res.content_type = kMetricsContentType;
  std::string self_text;
  // Read now, cheaply; appended to the published text.
  if (self) self_text = SelfMetricsText(ProcessStatsNow(), stats_);
  bool gzip = false;
  if (wants_gzip && self) {
    // The published text's gzip stays open: only the self metrics are
    // compressed per scrape, into the same gzip member.
    const Exposition::OpenGzip& open = e->gzip_open();
    if (!open.bytes.empty()) {
      std::string close = GzipClose(open, self_text);
      if (!close.empty()) {
        res.view = open.bytes;
        res.tail = std::move(close);
        gzip = true;
      }
    }
  } else if (wants_gzip && !e->gzip().empty()) {
    res.view = e->gzip();
    gzip = true;
  }
  if (!gzip) {
    res.view = e->text();
    res.tail = std::move(self_text);
  }
  res.hold = std::move(e);
  if (gzip) res.headers.emplace_back("Content-Encoding", "gzip");
}

void HttpServer::Impl::ServeMetrics(const RequestView& req, Response& res) {
  ServeExposition(req, res, publisher_.Current(), true);
}

void HttpServer::Impl::ServeProbe(const RequestView& req, Response& res) {
  const auto target = QueryParam(req.query, "target");
  if (!target || target->empty()) {
    return res.Text(400,
                    "400 /probe needs ?target=NAME, the name of a "
                    "configured target\n");
  }
  auto e = publisher_.CurrentFor(*target);
  if (!e) {
    return res.Text(404, "404 unknown target " + Quote(*target) +
                             ": /probe serves configured targets only, by "
                             "name\n");
  }
  ServeExposition(req, res, std::move(e), false);
}

// http/discovery.h has the document and the Host header's rules.
void HttpServer::Impl::ServeDiscovery(const RequestView& req, Response& res) {
  const auto hosts = req.message.equal_range(bhttp::field::host);
  const bool one =
      hosts.first != hosts.second && std::next(hosts.first) == hosts.second;
  const auto address =
      one ? DiscoveryAddress(hosts.first->value()) : std::nullopt;
  if (!address) {
    return res.Text(400,
                    "400 /discovery needs one Host header of the form "
                    "host[:port] (a DNS name, an IPv4 address or a bracketed "
                    "IPv6 address): it is the address the targets are "
                    "scraped at\n");
  }
  res.content_type = "application/json";
  res.body = DiscoveryDocument(publisher_.TargetNames(), *address);
  res.headers.emplace_back("Cache-Control", "no-store");
}

std::shared_ptr<const WebState> HttpServer::Impl::CurrentWebState() {
  if (options_.web_config_file.empty()) return web_;
  if (StampsOf(options_.web_config_file, web_->config) == web_->stamps) {
    return web_;
  }
  auto next = ReadWebState(options_.web_config_file);
  if (!next.ok()) {
    logger_.Warn("web config not reloaded, keeping the previous one",
                 {{"err", next.status().message()}});
    // Not again for this version of the files.
    auto same = std::make_shared<WebState>();
    same->config = web_->config;
    same->tls = web_->tls;
    same->auth = std::make_unique<BasicAuth>(web_->config.basic_auth_users);
    same->stamps = StampsOf(options_.web_config_file, web_->config);
    web_ = std::move(same);
    return web_;
  }
  if ((*next)->config.tls != tls_) {
    logger_.Warn(
        "web config not reloaded: turning TLS on or off needs a "
        "restart",
        {{"file", options_.web_config_file}});
    return web_;
  }
  logger_.Info("web config reloaded", {{"file", options_.web_config_file}});
  web_ = std::move(*next);
  return web_;
}

void HttpServer::Impl::Accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([this, &acceptor](const beast::error_code& ec,
                                          tcp::socket socket) {
    if (stopping_) return;
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors (EMFILE) most likely: make room, retry shortly
      // rather than spin.
      EvictOne();
      accept_retry_.expires_after(std::chrono::milliseconds(20));
      accept_retry_.async_wait([this, &acceptor](const beast::error_code& e) {
        if (!e && !stopping_) Accept(acceptor);
      });
      return;
    }
    StartConnection(std::move(socket));
    Accept(acceptor);
  });
}

void HttpServer::Impl::BeginShutdown() {
  if (stopping_) return;
  stopping_ = true;
  beast::error_code ec;
  for (auto& a : acceptors_) a->close(ec);
  accept_retry_.cancel();
  // Idle and half-read connections go now; responses being computed or
  // written finish, within the grace period.
  std::vector<Connection*> idle;
  for (Connection* c : connections_) {
    if (c->state != Connection::State::kWriting &&
        c->state != Connection::State::kAuthenticating) {
      idle.push_back(c);
    }
  }
  for (Connection* c : idle) c->Close();
  if (stats_.open_connections == 0) return;
  grace_timer_.expires_after(options_.shutdown_grace);
  grace_timer_.async_wait([this](const beast::error_code& e) {
    if (e) return;
    std::vector<Connection*> all(connections_.begin(), connections_.end());
    for (Connection* c : all) c->Close();
  });
}

Status HttpServer::Impl::LoadWebConfig() {
  auto state = ReadWebState(options_.web_config_file);
  if (!state.ok()) return state.status();
  web_ = std::move(*state);
  tls_ = web_->config.tls;
  return Status::Ok();
}

Status HttpServer::Impl::Bind(const ListenAddress& address) {
  if (!web_) {
    if (auto s = LoadWebConfig(); !s.ok()) return s;
  }
  const std::string shown =
      (address.host.find(':') != std::string::npos ? "[" + address.host + "]"
                                                   : address.host) +
      ":" + std::to_string(address.port);
  beast::error_code ec;
  std::vector<tcp::endpoint> endpoints;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (!ec) {
    endpoints.emplace_back(ip, static_cast<unsigned short>(address.port));
  } else {
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(address.host, std::to_string(address.port),
                                    tcp::resolver::passive, ec);
    if (ec) {
      return Status::Unavailable("cannot listen on " + shown + ": " +
                                 ec.message());
    }
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }
  for (const tcp::endpoint& e : endpoints) {
    auto acceptor = std::make_unique<tcp::acceptor>(ioc_);
    acceptor->open(e.protocol(), ec);
    // SO_REUSEADDR only, never SO_REUSEPORT: a second agent on the same port
    // must fail, not take half the scrapes.
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && e.address().is_v6()) {
      acceptor->set_option(asio::ip::v6_only(true), ec);
    }
    if (!ec) acceptor->bind(e, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("cannot listen on " + shown + " (" +
                                 ec.message() +
                                 ": in use, or not an address of this "
                                 "machine?)");
    }
    const tcp::endpoint local = acceptor->local_endpoint(ec);
    ports_.push_back(local.port());
    bound_.push_back(HostPort(local));
    acceptors_.push_back(std::move(acceptor));
  }
  return Status::Ok();
}

Status HttpServer::Impl::Serve() {
  if (FaultInjected("http_return")) return Status::Ok();
  for (auto& a : acceptors_) Accept(*a);
  if (FaultInjected("http_throw")) {
    asio::post(ioc_, [] {
      throw std::runtime_error("injected fault (PGCONN_INTERNAL_FAULT)");
    });
  }
  try {
    ioc_.run();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("HTTP server stopped: ") + e.what());
  }
  return Status::Ok();
}

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

HttpServer::HttpServer(const ExpositionSource& publisher, const Logger& logger,
                       HttpServerOptions options)
    : impl_(std::make_unique<Impl>(publisher, logger, std::move(options))) {}

HttpServer::~HttpServer() = default;

Status HttpServer::LoadWebConfig() { return impl_->LoadWebConfig(); }
Status HttpServer::Bind(const ListenAddress& address) {
  return impl_->Bind(address);
}
int HttpServer::port() const { return impl_->port(); }
std::vector<std::string> HttpServer::BoundAddresses() const {
  return impl_->BoundAddresses();
}
Status HttpServer::Serve() { return impl_->Serve(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace pgconn
