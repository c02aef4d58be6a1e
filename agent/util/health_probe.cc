#include "pgconn/health_probe.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/numbers.h"

namespace pgconn {
namespace {

using Clock = std::chrono::steady_clock;

// Closes the socket on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits for `events` until `deadline`; false on timeout or error.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

Result<int> ConnectTo(const HttpUrl& url, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(url.port);
  if (const int rc =
          getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return Status::IoError("cannot resolve " + Excerpt(url.host) + ": " +
                           gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
        (errno == EINPROGRESS && WaitFor(fd, POLLOUT, deadline))) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) {
        freeaddrinfo(found);
        return fd;
      }
      last_error = std::strerror(err);
    } else {
      last_error = errno == EINPROGRESS ? "timed out" : std::strerror(errno);
    }
    close(fd);
  }
  freeaddrinfo(found);
  return Status::IoError("cannot connect to " + Excerpt(url.host) + ":" + port +
                         ": " + last_error);
}

}  // namespace

Result<HttpUrl> ParseHttpUrl(std::string_view text) {
  // Appended, not "\"" + Excerpt(text): GCC 12 reports a false -Wrestrict
  // on operator+(const char*, std::string&&) at -O3 (GCC bug 105651).
  std::string quoted = "\"";
  quoted += Excerpt(text);
  quoted += '"';
  constexpr std::string_view kScheme = "http://";
  if (text.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument(quoted + " is not an http:// URL");
  }
  std::string_view rest = text.substr(kScheme.size());
  HttpUrl url;
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) url.path = rest.substr(slash);
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument(quoted + ": unterminated [IPv6] host");
    }
    url.host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority[0] == ':') port = authority.substr(1);
  } else {
    const size_t colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) {
    return Status::InvalidArgument(quoted + " has no host");
  }
  if (!port.empty()) {
    auto p = ParseInt64InRange(port, 1, 65535);
    if (!p.ok()) {
      return Status::InvalidArgument(quoted + ": port " + p.status().message());
    }
    url.port = static_cast<int>(*p);
  }
  return url;
}

Result<int> HttpGetStatus(const HttpUrl& url,
                          std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto connected = ConnectTo(url, deadline);
  if (!connected.ok()) return connected.status();
  Fd fd(*connected);
  const bool v6 = url.host.find(':') != std::string::npos;
  const std::string request = "GET " + url.path + " HTTP/1.1\r\nHost: " +
                              (v6 ? "[" + url.host + "]" : url.host) + ":" +
                              std::to_string(url.port) +
                              "\r\nUser-Agent: pgconn-agent-health-check"
                              "\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    if (!WaitFor(fd.get(), POLLOUT, deadline)) {
      return Status::IoError("timed out sending the request");
    }
    const ssize_t n = send(fd.get(), request.data() + sent,
                           request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return Status::IoError(std::string("send: ") + std::strerror(errno));
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  // Only the status line matters: "HTTP/1.1 200 OK".
  std::string head;
  while (head.find("\r\n") == std::string::npos && head.size() < 1024) {
    if (!WaitFor(fd.get(), POLLIN, deadline)) {
      return Status::IoError("timed out waiting for the response");
    }
    char buf[512];
    const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Status::IoError(std::string("recv: ") + std::strerror(errno));
    }
    head.append(buf, static_cast<size_t>(n));
  }
  if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12 || head[8] != ' ') {
    return Status::IoError("the answer is not HTTP");
  }
  auto code = ParseInt64InRange(std::string_view(head).substr(9, 3), 100, 599);
  if (!code.ok()) return Status::IoError("the answer has no status code");
  return static_cast<int>(*code);
}

}  // namespace pgconn
