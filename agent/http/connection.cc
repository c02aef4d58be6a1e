// One HTTP/1.1 connection, plain or TLS, and how the server admits it.
#include "http/server_impl.h"

namespace pgconn {
namespace {

// Requests carry no meaningful body (POST /-/reload takes none).
constexpr size_t kMaxBodyBytes = 4096;

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

}  // namespace pgconn
