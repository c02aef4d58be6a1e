#include "pgconn/health_probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace pgconn {
namespace {

// A one-connection server on a free loopback port that answers `reply`
// after reading the request (or never answers when `reply` is empty).
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 1);
    thread_ = std::thread([this, reply = std::move(reply)] {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[2048];
      const ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n > 0) request_.assign(buf, static_cast<size_t>(n));
      if (!reply.empty()) {
        send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      } else {
        char drain;
        recv(c, &drain, 1, 0);  // until the client gives up
      }
      close(c);
    });
  }
  ~OneShotServer() {
    shutdown(fd_, SHUT_RDWR);  // ends an accept() still waiting
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  // What the client sent, once the exchange is over.
  std::string request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::string request_;
  std::thread thread_;
};

TEST(ParseHttpUrlTest, HostPortPath) {
  auto u = ParseHttpUrl("http://127.0.0.1:9188/healthz");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9188);
  EXPECT_EQ(u->path, "/healthz");
  auto v6 = ParseHttpUrl("http://[::1]:80");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->path, "/");
  for (const char* bad : {"https://h/", "http://:9188/", "http://h:99999/",
                          "http://[::1/", "ftp://h"}) {
    EXPECT_FALSE(ParseHttpUrl(bad).ok()) << bad;
  }
}

TEST(HttpGetStatusTest, ReturnsTheStatusCodeAndSendsAGet) {
  OneShotServer ok("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
  auto code = HttpGetStatus({"127.0.0.1", ok.port(), "/healthz"},
                            std::chrono::seconds(5));
  ASSERT_TRUE(code.ok()) << code.status().message();
  EXPECT_EQ(*code, 200);
  EXPECT_EQ(ok.request().rfind("GET /healthz HTTP/1.1\r\n", 0), 0u);

  OneShotServer down("HTTP/1.0 503 Service Unavailable\r\n\r\n");
  auto code503 = HttpGetStatus({"127.0.0.1", down.port(), "/healthz"},
                               std::chrono::seconds(5));
  ASSERT_TRUE(code503.ok());
  EXPECT_EQ(*code503, 503);
}

TEST(HttpGetStatusTest, FailsOnSilenceGarbageAndNoListener) {
  OneShotServer silent("");
  auto timed_out = HttpGetStatus({"127.0.0.1", silent.port(), "/"},
                                 std::chrono::milliseconds(300));
  ASSERT_FALSE(timed_out.ok());
  EXPECT_NE(timed_out.status().message().find("timed out"), std::string::npos)
      << timed_out.status().message();

  OneShotServer garbage("SSH-2.0-OpenSSH\r\n");
  EXPECT_FALSE(
      HttpGetStatus({"127.0.0.1", garbage.port(), "/"}, std::chrono::seconds(5))
          .ok());

  int port = 0;
  {
    OneShotServer closed("x");
    port = closed.port();
  }  // closed: nothing listens there any more
  auto refused =
      HttpGetStatus({"127.0.0.1", port, "/"}, std::chrono::seconds(5));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("cannot connect"),
            std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace pgconn
