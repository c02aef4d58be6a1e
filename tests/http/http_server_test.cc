#include "pgconn/http_server.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "fakes/fake_clock.h"

namespace pgconn {
namespace {

// What the server serves: a fixed exposition and a readiness switch, so the
// HTTP tests need no poller.
class FakeSource final : public ExpositionSource {
 public:
  FakeSource()
      : exposition_(std::make_shared<const Exposition>(
            "# HELP pgconn_up 1 if up.\n# TYPE pgconn_up gauge\n"
            "pgconn_up{target=\"main\"} 0\n")) {}
  std::shared_ptr<const Exposition> Current() const override {
    return exposition_;
  }
  bool Ready() const override { return ready_.load(); }
  std::shared_ptr<const Exposition> CurrentFor(
      std::string_view target) const override {
    if (target != "main db") return nullptr;
    return std::make_shared<const Exposition>(
        "pgconn_up{target=\"main db\"} 1\n");
  }
  void SetReady() { ready_.store(true); }
  // A status page of two files and its JSON.
  std::shared_ptr<const StatusPage> CurrentPage() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return page_;
  }
  void SetPage() {
    std::lock_guard<std::mutex> lock(mu_);
    page_ = std::make_shared<const StatusPage>(
        std::vector<StatusPage::Asset>{
            {"/", "text/html; charset=utf-8", "<!DOCTYPE html>page"},
            {"/status.js", "text/javascript; charset=utf-8", "'use strict';"}},
        "{\"targets\": []}");
  }

 private:
  std::shared_ptr<const Exposition> exposition_;
  std::atomic<bool> ready_{false};
  mutable std::mutex mu_;
  std::shared_ptr<const StatusPage> page_;
};

HttpServerOptions TestOptions() {
  HttpServerOptions o;
  o.header_timeout = std::chrono::milliseconds(300);
  o.max_connections = 8;
  return o;
}

class HttpServerTest : public ::testing::Test {
 protected:
  explicit HttpServerTest(HttpServerOptions options = TestOptions())
      : logger_(&log_, LogLevel::kInfo, LogFormat::kLogfmt, &clock_),
        publisher_(),
        server_(publisher_, logger_, std::move(options)) {
    EXPECT_TRUE(server_.Bind({"127.0.0.1", 0}).ok());
    thread_ = std::thread([this] { (void)server_.Serve(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
    // Wait until the server accepts connections.
    for (int i = 0; i < 200; ++i) {
      if (client_->Get("/healthz")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~HttpServerTest() override {
    server_.Stop();
    thread_.join();
  }
  FakeClock clock_;
  std::ostringstream log_;
  Logger logger_;
  FakeSource publisher_;
  HttpServer server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, ServesTheLastPublishedExposition) {
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  // The published text, then the self metrics read at scrape time.
  EXPECT_EQ(res->body.rfind(publisher_.Current()->text(), 0), 0u);
  EXPECT_NE(res->body.find("pgconn_up{target=\"main\"} 0"), std::string::npos);
}

TEST_F(HttpServerTest, CompressesWhenTheScraperAcceptsGzip) {
  client_->set_decompress(false);
  auto res = client_->Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Encoding"), "gzip");
  // The bytes compressed at publish time, not compressed again, then the
  // self metrics' blocks closing the same gzip member.
  const std::string& open = publisher_.Current()->gzip_open().bytes;
  ASSERT_FALSE(open.empty());
  EXPECT_EQ(res->body.compare(0, open.size(), open), 0)
      << "got " << res->body.size() << " bytes, published " << open.size();
  EXPECT_LT(res->body.size(), open.size() + 1024);
  client_->set_decompress(true);
  auto plain = client_->Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->body.rfind(publisher_.Current()->text(), 0), 0u);
  EXPECT_NE(plain->body.find("\npgconn_http_open_connections 1\n"),
            std::string::npos)
      << plain->body;
}

TEST_F(HttpServerTest, HealthAndReadiness) {
  auto h = client_->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto r = client_->Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  publisher_.SetReady();
  r = client_->Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, IndexLinksTheEndpoints) {
  auto res = client_->Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  for (auto link :
       {"href=\"/metrics\"", "href=\"/healthz\"", "href=\"/readyz\""}) {
    EXPECT_NE(res->body.find(link), std::string::npos) << link;
  }
}

// Without a status page, / is the plain index and the page's files are
// not there.
TEST_F(HttpServerTest, NoPageNoPageFiles) {
  for (const char* path : {"/status.js", "/status.css"}) {
    auto res = client_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
}

// The page's files, each with its type, under a policy that runs no inline
// script and loads nothing from another origin.
TEST_F(HttpServerTest, PageFilesCarryTheirPolicy) {
  publisher_.SetPage();
  const std::pair<const char*, const char*> files[] = {
      {"/", "<!DOCTYPE html>page"}, {"/status.js", "'use strict';"}};
  for (const auto& [path, body] : files) {
    auto res = client_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_EQ(res->body, body);
    EXPECT_EQ(res->get_header_value("Content-Security-Policy"),
              "default-src 'none'; script-src 'self'; style-src 'self'; "
              "connect-src 'self'; base-uri 'none'; form-action 'none'");
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  }
  EXPECT_EQ(client_->Get("/status.js")->get_header_value("Content-Type"),
            "text/javascript; charset=utf-8");
  // A file the page does not have.
  EXPECT_EQ(client_->Get("/status.css")->status, 404);
  auto json = client_->Get("/api/v1/status");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->body, "{\"targets\": []}");
}

TEST_F(HttpServerTest, WrongMethodsAndPaths) {
  auto post = client_->Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
  auto del = client_->Delete("/healthz");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  auto missing = client_->Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto post_missing = client_->Post("/nope", "x", "text/plain");
  ASSERT_TRUE(post_missing);
  EXPECT_EQ(post_missing->status, 404);
  auto head = client_->Head("/metrics");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
}

// A raw TCP client, for what an HTTP client library would not send.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawClient() { close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t n =
          send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads until the peer closes or `timeout` passes; "closed" tells which.
  std::string ReadAll(std::chrono::milliseconds timeout, bool* closed) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    *closed = false;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        *closed = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_;
  bool connected_ = false;
};

TEST_F(HttpServerTest, RefusesHeadersOverTheByteLimit) {
  RawClient c(server_.port());
  ASSERT_TRUE(c.connected());
  std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  while (req.size() < 20000) req += "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  req += "\r\n";
  c.Send(req);
  bool closed = false;
  const std::string res = c.ReadAll(std::chrono::seconds(5), &closed);
  EXPECT_EQ(res.rfind("HTTP/1.1 431 ", 0), 0u) << res;
  EXPECT_NE(res.find("Connection: close"), std::string::npos) << res;
  EXPECT_TRUE(closed);
}

TEST_F(HttpServerTest, RefusesMoreHeadersThanTheCount) {
  RawClient c(server_.port());
  std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i) req += "X" + std::to_string(i) + ": 1\r\n";
  req += "\r\n";
  c.Send(req);
  bool closed = false;
  const std::string res = c.ReadAll(std::chrono::seconds(5), &closed);
  EXPECT_EQ(res.rfind("HTTP/1.1 431 ", 0), 0u) << res;
  EXPECT_NE(res.find("more than 100 request headers"), std::string::npos);
  EXPECT_TRUE(closed);
}

TEST_F(HttpServerTest, CutsASlowHeaderAtTheDeadline) {
  RawClient c(server_.port());
  c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n");
  bool closed = false;
  const auto start = std::chrono::steady_clock::now();
  // The deadline is 300 ms: the server closes, answering nothing.
  const std::string res = c.ReadAll(std::chrono::seconds(5), &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(res, "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_F(HttpServerTest, KeepsAliveAndAnswersPipelinedRequests) {
  RawClient c(server_.port());
  c.Send(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  const std::string res = c.ReadAll(std::chrono::milliseconds(200), &closed);
  EXPECT_FALSE(closed);
  size_t count = 0;
  for (size_t at = 0;
       (at = res.find("HTTP/1.1 200 OK", at)) != std::string::npos; ++at) {
    ++count;
  }
  EXPECT_EQ(count, 2u) << res;
}

TEST_F(HttpServerTest, ClosesTheOldestIdleConnectionWhenFull) {
  // max_connections is 8: the fixture's client may hold one.
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<RawClient>(server_.port()));
    ASSERT_TRUE(idle.back()->connected());
  }
  // A new client is still answered...
  httplib::Client fresh("127.0.0.1", server_.port());
  auto res = fresh.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  // ...because the oldest idle one was closed to make room.
  bool closed = false;
  idle.front()->ReadAll(std::chrono::seconds(2), &closed);
  EXPECT_TRUE(closed);
  idle.back()->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string last =
      idle.back()->ReadAll(std::chrono::milliseconds(300), &closed);
  EXPECT_EQ(last.rfind("HTTP/1.1 200 OK", 0), 0u) << last;
}

TEST_F(HttpServerTest, ProbeServesOneConfiguredTarget) {
  auto ok = client_->Get("/probe?target=main%20db");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "pgconn_up{target=\"main db\"} 1\n");
  auto unknown = client_->Get("/probe?target=postgres://evil@host/db");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(unknown->body.find("unknown target \"postgres://evil@host/db\""),
            std::string::npos);
  auto missing = client_->Get("/probe");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400);
  EXPECT_NE(missing->body.find("?target=NAME"), std::string::npos);
}

TEST_F(HttpServerTest, ReloadRouteExistsOnlyWithACallback) {
  auto res = client_->Post("/-/reload", "", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(HttpServerTest, MetricsEndWithTheSelfMetrics) {
  ASSERT_TRUE(client_->Get("/nope"));
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body.rfind(publisher_.Current()->text(), 0), 0u);
  EXPECT_NE(res->body.find("\nprocess_resident_memory_bytes "),
            std::string::npos);
  EXPECT_NE(
      res->body.find(
          "pgconn_http_requests_total{handler=\"other\",code=\"404\"} 1\n"),
      std::string::npos)
      << res->body;
  EXPECT_NE(res->body.find("\npgconn_http_open_connections 1\n"),
            std::string::npos)
      << res->body;
}

TEST(HttpServerReloadTest, PostCallsTheCallbackAndReportsItsError) {
  FakeClock clock;
  std::ostringstream log;
  Logger logger(&log, LogLevel::kInfo, LogFormat::kLogfmt, &clock);
  FakeSource publisher;
  int calls = 0;
  HttpServerOptions o;
  o.reload = [&calls] {
    return ++calls == 1 ? Status::Ok()
                        : Status::InvalidArgument("web.yml:3: bad");
  };
  HttpServer server(publisher, logger, o);
  ASSERT_TRUE(server.Bind({"127.0.0.1", 0}).ok());
  std::thread t([&] { (void)server.Serve(); });
  httplib::Client c("127.0.0.1", server.port());
  auto first = c.Post("/-/reload", "", "text/plain");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  auto second = c.Post("/-/reload", "", "text/plain");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 500);
  EXPECT_EQ(second->body, "reload failed: web.yml:3: bad\n");
  auto get = c.Get("/-/reload");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
  EXPECT_EQ(calls, 2);
  server.Stop();
  t.join();
}

// A logger and a source for tests that build their own server.
struct ServerParts {
  FakeClock clock;
  std::ostringstream log;
  Logger logger{&log, LogLevel::kInfo, LogFormat::kLogfmt, &clock};
  FakeSource publisher;
};

TEST(HttpServerStopTest, StopsAtOnceWithIdleKeepAliveClients) {
  ServerParts p;
  HttpServer server(p.publisher, p.logger);
  ASSERT_TRUE(server.Bind({"127.0.0.1", 0}).ok());
  std::thread t([&] { (void)server.Serve(); });
  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(
        std::make_unique<httplib::Client>("127.0.0.1", server.port()));
    clients.back()->set_keep_alive(true);
    auto r = clients.back()->Get("/healthz");
    ASSERT_TRUE(r);
  }
  const auto start = std::chrono::steady_clock::now();
  server.Stop();
  t.join();
  // The idle timeout is 60 s; closing idle connections takes no wait.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

std::string BcryptHash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof(salt)),
            nullptr);
  crypt_data data{};
  return crypt_rn(password.c_str(), salt, &data, sizeof(data));
}

TEST(HttpServerWebConfigTest, ReReadsTheFileWhenItChanges) {
  ServerParts p;
  char path[] = "/tmp/pgconn-web-XXXXXX";
  close(mkstemp(path));
  std::ofstream(path) << "basic_auth_users:\n  alice: '" << BcryptHash("a1")
                      << "'\n";
  HttpServerOptions o;
  o.web_config_file = path;
  HttpServer server(p.publisher, p.logger, o);
  ASSERT_TRUE(server.Bind({"127.0.0.1", 0}).ok());
  std::thread t([&] { (void)server.Serve(); });
  auto status = [&](const char* user, const char* password) {
    httplib::Client c("127.0.0.1", server.port());
    if (user != nullptr) c.set_basic_auth(user, password);
    auto res = c.Get("/healthz");
    return res ? res->status : -1;
  };
  EXPECT_EQ(status(nullptr, nullptr), 401);
  EXPECT_EQ(status("alice", "a1"), 200);
  EXPECT_EQ(status("bob", "b2"), 401);
  // A new version of the file (another inode, as a rotation renames one
  // in): the next connection sees it.
  const std::string next = std::string(path) + ".new";
  std::ofstream(next) << "basic_auth_users:\n  bob: '" << BcryptHash("b2")
                      << "'\n";
  ASSERT_EQ(std::rename(next.c_str(), path), 0);
  EXPECT_EQ(status("bob", "b2"), 200);
  EXPECT_EQ(status("alice", "a1"), 401);
  // A broken version is logged and the previous one kept.
  std::ofstream(next) << "basic_auth_users: [\n";
  ASSERT_EQ(std::rename(next.c_str(), path), 0);
  EXPECT_EQ(status("bob", "b2"), 200);
  EXPECT_NE(p.log.str().find("web config not reloaded"), std::string::npos)
      << p.log.str();
  server.Stop();
  t.join();
  std::remove(path);
}

TEST(HttpServerBindTest, ReportsAPortInUse) {
  FakeClock clock;
  std::ostringstream log;
  Logger logger(&log, LogLevel::kInfo, LogFormat::kLogfmt, &clock);
  FakeSource publisher;
  HttpServer a(publisher, logger), b(publisher, logger);
  ASSERT_TRUE(a.Bind({"127.0.0.1", 0}).ok());
  Status s = b.Bind({"127.0.0.1", a.port()});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot listen on 127.0.0.1:" +
                             std::to_string(a.port())),
            std::string::npos);
}

TEST(HttpServerBindTest, ListensOnSeveralAddressesAndBracketsIPv6) {
  ServerParts p;
  HttpServer server(p.publisher, p.logger);
  ASSERT_TRUE(server.Bind({"127.0.0.1", 0}).ok());
  ASSERT_TRUE(server.Bind({"::1", 0}).ok());
  const auto bound = server.BoundAddresses();
  ASSERT_EQ(bound.size(), 2u);
  EXPECT_EQ(bound[0], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(bound[1].rfind("[::1]:", 0), 0u) << bound[1];
}

}  // namespace
}  // namespace pgconn
