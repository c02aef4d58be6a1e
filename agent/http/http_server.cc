#include "pgconn/http_server.h"

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
#include "pgconn/thread_guard.h"

namespace pgconn {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

constexpr char kMetricsContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";
constexpr char kTextContentType[] = "text/plain; charset=utf-8";
// Requests carry no meaningful body (POST /-/reload takes none).
constexpr size_t kMaxBodyBytes = 4096;

bool AcceptsGzip(std::string_view ae) {
  // A plain token check: "gzip" listed, and not explicitly refused.
  return ae.find("gzip") != std::string_view::npos &&
         ae.find("gzip;q=0") == std::string_view::npos &&
         ae.find("gzip; q=0") == std::string_view::npos;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
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

// What identifies a version of a file: a change of any field means it was
// rewritten or replaced (certificate rotation renames a new file in).
struct FileStamp {
  std::string path;
  int64_t mtime_ns = 0;
  int64_t size = -1;
  uint64_t inode = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp Stamp(const std::string& path) {
  FileStamp s;
  s.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                 st.st_mtim.tv_nsec;
    s.size = st.st_size;
    s.inode = st.st_ino;
  }
  return s;
}

Result<std::shared_ptr<ssl::context>> MakeTlsContext(const TlsServerConfig& t,
                                                     const std::string& file) {
  std::shared_ptr<ssl::context> ctx;
  try {
    ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot create a TLS context: ") +
                            e.what());
  }
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, t.min_version);
  SSL_CTX_set_max_proto_version(native, t.max_version);
  const std::string where = file + ": \"tls_server_config.";
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(t.cert_file, ec);
  if (ec) {
    return Status::InvalidArgument(where + "cert_file\": cannot load " +
                                   t.cert_file + ": " + ec.message());
  }
  ctx->use_private_key_file(t.key_file, ssl::context::pem, ec);
  if (ec || SSL_CTX_check_private_key(native) != 1) {
    return Status::InvalidArgument(
        where + "key_file\": cannot load " + t.key_file +
        (ec ? ": " + ec.message() : ": does not match cert_file"));
  }
  int mode = ssl::verify_none;
  bool any_cert = false;  // accept a certificate without verifying it
  switch (t.client_auth) {
    case ClientAuth::kNoClientCert:
      break;
    case ClientAuth::kRequestClientCert:
      mode = ssl::verify_peer;
      any_cert = true;
      break;
    case ClientAuth::kRequireAnyClientCert:
      mode = ssl::verify_peer | ssl::verify_fail_if_no_peer_cert;
      any_cert = true;
      break;
    case ClientAuth::kVerifyClientCertIfGiven:
      mode = ssl::verify_peer;
      break;
    case ClientAuth::kRequireAndVerifyClientCert:
      mode = ssl::verify_peer | ssl::verify_fail_if_no_peer_cert;
      break;
  }
  if (!t.client_ca_file.empty()) {
    ctx->load_verify_file(t.client_ca_file, ec);
    if (ec) {
      return Status::InvalidArgument(where + "client_ca_file\": cannot load " +
                                     t.client_ca_file + ": " + ec.message());
    }
    if (STACK_OF(X509_NAME)* names =
            SSL_load_client_CA_file(t.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
  }
  ctx->set_verify_mode(mode, ec);
  if (any_cert) {
    ctx->set_verify_callback([](bool, ssl::verify_context&) { return true; },
                             ec);
  }
  return ctx;
}

}  // namespace

// The web configuration as of one version of its files. Immutable; each
// connection holds the version it started with.
struct WebState {
  WebConfig config;
  std::shared_ptr<ssl::context> tls;
  std::unique_ptr<BasicAuth> auth;
  std::vector<FileStamp> stamps;
};

namespace {

std::vector<FileStamp> StampsOf(const std::string& file,
                                const WebConfig& config) {
  std::vector<FileStamp> out{Stamp(file)};
  if (config.tls) {
    for (const std::string* p :
         {&config.tls_config.cert_file, &config.tls_config.key_file,
          &config.tls_config.client_ca_file}) {
      if (!p->empty()) out.push_back(Stamp(*p));
    }
  }
  return out;
}

Result<std::shared_ptr<const WebState>> ReadWebState(const std::string& file) {
  auto state = std::make_shared<WebState>();
  if (file.empty()) {
    state->auth =
        std::make_unique<BasicAuth>(std::map<std::string, std::string>{});
    return std::shared_ptr<const WebState>(std::move(state));
  }
  auto config = pgconn::LoadWebConfig(file);
  if (!config.ok()) return config.status();
  state->config = std::move(*config);
  if (state->config.tls) {
    auto ctx = MakeTlsContext(state->config.tls_config, file);
    if (!ctx.ok()) return ctx.status();
    state->tls = std::move(*ctx);
  }
  state->auth = std::make_unique<BasicAuth>(state->config.basic_auth_users);
  state->stamps = StampsOf(file, state->config);
  return std::shared_ptr<const WebState>(std::move(state));
}

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

}  // namespace

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
  // The live page and its JSON, built by the publisher once per change;
  // a source without one gets the plain index page.
  void ServeIndex(const RequestView&, Response& res) {
    res.content_type = "text/html; charset=utf-8";
    std::shared_ptr<const StatusPage> page = publisher_.CurrentPage();
    res.body = page ? page->html() : IndexPage();
    if (page) res.headers.emplace_back("Cache-Control", "no-store");
  }
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

namespace {

// One HTTP/1.1 connection, plain or TLS. Lives on the I/O thread; owned by
// the handlers it has pending.
template <class Stream>
class Session final : public Connection,
                      public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... Args>
  Session(HttpServer::Impl& server, std::shared_ptr<const WebState> web,
          Args&&... args)
      : server_(server),
        web_(std::move(web)),
        stream_(std::forward<Args>(args)...),
        timer_(server.ioc()) {
    server_.Register(this);
  }
  ~Session() override {
    if (!closed) server_.Closed();
    server_.Unregister(this);
  }

  void Start() {
    if constexpr (kTls) {
      state = State::kHandshake;
      Deadline(server_.options().header_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          [self = this->shared_from_this()](const beast::error_code& ec) {
            if (ec) return self->Close();
            self->WaitForRequest();
          });
    } else {
      WaitForRequest();
    }
  }

  void Close() override {
    if (closed) return;
    closed = true;
    server_.Closed();
    timer_.cancel();
    beast::error_code ec;
    Socket().shutdown(tcp::socket::shutdown_both, ec);
    Socket().close(ec);
  }

  bool idle() const { return state == State::kIdle; }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  tcp::socket& Socket() { return beast::get_lowest_layer(stream_); }

  void Deadline(std::chrono::milliseconds d) {
    timer_.expires_after(d);
    timer_.async_wait(
        [self = this->shared_from_this()](const beast::error_code& ec) {
          if (!ec) self->Close();
        });
  }

  bool Buffered() {
    if (buffer_.size() > 0) return true;
    if constexpr (kTls) return SSL_pending(stream_.native_handle()) > 0;
    return false;
  }

  // Idle until the client sends a byte: only then the header deadline
  // starts, and until then the connection is the first to go when full.
  void WaitForRequest() {
    if (server_.stopping()) return Close();
    state = State::kIdle;
    if (Buffered()) return Read();
    Deadline(server_.options().idle_timeout);
    Socket().async_wait(
        tcp::socket::wait_read,
        [self = this->shared_from_this()](const beast::error_code& ec) {
          if (ec || self->closed) return self->Close();
          self->Read();
        });
  }

  void Read() {
    state = State::kReading;
    Deadline(server_.options().header_timeout);
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(server_.options().max_header_bytes));
    parser_->body_limit(kMaxBodyBytes);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](const beast::error_code& ec, size_t) {
          self->OnRead(ec);
        });
  }

  void OnRead(const beast::error_code& ec) {
    if (closed) return;
    if (ec) {
      if (ec == bhttp::error::header_limit ||
          ec == bhttp::error::buffer_overflow) {
        return Refuse(431,
                      "request headers over " +
                          std::to_string(server_.options().max_header_bytes) +
                          " bytes\n");
      }
      if (ec == bhttp::error::body_limit) {
        return Refuse(413, "request body too large\n");
      }
      if (ec.category() ==
              bhttp::make_error_code(bhttp::error::bad_target).category() &&
          ec != bhttp::error::end_of_stream &&
          ec != bhttp::error::partial_message) {
        return Refuse(400, "malformed request\n");
      }
      return Close();
    }
    const auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    size_t fields = 0;
    for (auto it = msg.begin(); it != msg.end(); ++it) ++fields;
    if (fields > server_.options().max_header_count) {
      return Refuse(431,
                    "more than " +
                        std::to_string(server_.options().max_header_count) +
                        " request headers\n");
    }
    const BasicAuth& auth = *web_->auth;
    if (!auth.enabled()) return Answer();
    const auto it = msg.find(bhttp::field::authorization);
    std::optional<BasicCredentials> creds;
    if (it != msg.end()) creds = ParseBasicAuthorization(it->value());
    if (!creds) return Unauthorized();
    if (auth.Cached(creds->user, creds->password)) return Answer();
    state = State::kAuthenticating;
    // The session goes back to the I/O thread with the result: the pool's
    // thread must never hold its last reference, or it would be destroyed
    // there, unregistering itself from the I/O thread's list (a data race
    // ThreadSanitizer found).
    asio::post(server_.auth_pool(), [self = this->shared_from_this(),
                                     creds = std::move(*creds)]() mutable {
      asio::io_context& ioc = self->server_.ioc();
      bool ok = false;
      try {
        if (FaultInjected("bcrypt")) {
          throw std::runtime_error("injected fault (PGCONN_INTERNAL_FAULT)");
        }
        ok = self->web_->auth->Verify(creds.user, creds.password);
      } catch (...) {
        // Not on this pool's thread, where it would end the process
        // without a word: the I/O thread rethrows it, and Serve() returns
        // the error (the agent exits on it).
        asio::post(ioc, [self = std::move(self), e = std::current_exception()] {
          std::rethrow_exception(e);
        });
        return;
      }
      asio::post(ioc, [self = std::move(self), ok] {
        if (self->closed) return;
        if (ok) return self->Answer();
        self->Unauthorized();
      });
    });
  }

  void Unauthorized() {
    res_ = Response{};
    res_.Text(401, "401 unauthorized\n");
    res_.headers.emplace_back("WWW-Authenticate", "Basic");
    res_.head = parser_->get().method() == bhttp::verb::head;
    server_.Count("other", 401);
    Write();
  }

  void Answer() {
    const auto& msg = parser_->get();
    const std::string_view target = msg.target();
    const auto q = target.find('?');
    const RequestView req{
        msg.method(), target.substr(0, q),
        q == std::string_view::npos ? std::string_view{} : target.substr(q + 1),
        msg};
    res_ = Response{};
    res_.head = msg.method() == bhttp::verb::head;
    server_.Handle(req, res_);
    Write();
  }

  // Answers a request that could not be read, then closes.
  void Refuse(int status, std::string text) {
    keep_alive_ = false;
    res_ = Response{};
    res_.Text(status, std::move(text));
    server_.Count("other", status);
    Write();
  }

  void Write() {
    state = State::kWriting;
    const bool close = !keep_alive_ || server_.stopping();
    head_.clear();
    head_ += "HTTP/1.1 " + std::to_string(res_.status) + " " +
             Reason(res_.status) + "\r\nContent-Type: " + res_.content_type +
             "\r\nContent-Length: " + std::to_string(res_.BodySize()) + "\r\n";
    for (const auto& [k, v] : res_.headers) head_ += k + ": " + v + "\r\n";
    for (const auto& [k, v] : web_->config.headers) {
      head_ += k + ": " + v + "\r\n";
    }
    if (close) head_ += "Connection: close\r\n";
    head_ += "\r\n";
    // Head and body in one gathered write: one segment when it fits.
    std::vector<asio::const_buffer> buffers{asio::buffer(head_)};
    if (!res_.head) {
      if (res_.hold) {
        buffers.push_back(asio::buffer(res_.view.data(), res_.view.size()));
        buffers.push_back(asio::buffer(res_.tail));
      } else {
        buffers.push_back(asio::buffer(res_.body));
      }
    }
    Deadline(server_.options().write_timeout);
    asio::async_write(stream_, std::move(buffers),
                      [self = this->shared_from_this(), close](
                          const beast::error_code& ec, size_t) {
                        self->res_ = Response{};
                        if (ec || close) return self->Close();
                        self->WaitForRequest();
                      });
  }

  HttpServer::Impl& server_;
  const std::shared_ptr<const WebState> web_;
  Stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_{64 * 1024};
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = true;
  std::string head_;
  Response res_;
};

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

void HttpServer::Impl::EvictOne() {
  // The oldest idle connection; else the oldest one still sending its
  // request (a slow client); else the oldest of all.
  for (const auto want : {Connection::State::kIdle, Connection::State::kReading,
                          Connection::State::kHandshake}) {
    for (Connection* c : connections_) {
      if (!c->closed && c->state == want) return c->Close();
    }
  }
  for (Connection* c : connections_) {
    if (!c->closed) return c->Close();
  }
}

void HttpServer::Impl::StartConnection(tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  while (stats_.open_connections >=
         static_cast<int64_t>(options_.max_connections)) {
    const int64_t before = stats_.open_connections;
    EvictOne();
    if (stats_.open_connections == before) break;
  }
  auto web = CurrentWebState();
  if (tls_) {
    auto s = std::make_shared<Session<ssl::stream<tcp::socket>>>(
        *this, web, std::move(socket), *web->tls);
    s->Start();
  } else {
    auto s =
        std::make_shared<Session<tcp::socket>>(*this, web, std::move(socket));
    s->Start();
  }
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
