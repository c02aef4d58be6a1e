#include "http/discovery.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "fakes/fake_clock.h"
#include "pgconn/http_server.h"

namespace pgconn {
namespace {

TEST(DiscoveryAddressTest, AcceptsNamesAddressesAndPorts) {
  for (const char* ok : {
           "localhost",
           "localhost:9188",
           "agent",
           "pgconn-0.pgconn.monitoring.svc:9188",
           "pgconn.monitoring.svc.cluster.local:9188",
           "pgconn_agent:9188",  // a Compose service name
           "Agent.Example.COM",
           "127.0.0.1:9188",
           "10.0.0.255",
           "[::1]:9188",
           "[::1]",
           "[2001:db8::17]:65535",
           "[::ffff:192.0.2.1]:1",
       }) {
    auto a = DiscoveryAddress(ok);
    ASSERT_TRUE(a.has_value()) << ok;
    EXPECT_EQ(*a, ok);
  }
}

TEST(DiscoveryAddressTest, RefusesEverythingElse) {
  for (const char* bad : {
           "",
           ":9188",
           "agent:",
           "agent:0",
           "agent:65536",
           "agent:09188",
           "agent:+9188",
           "agent:9188:1",
           "::1",             // IPv6 without brackets
           "[::1",            // unclosed
           "[::1]x",          // junk after the bracket
           "[::1]:",          // empty port
           "[fe80::1%eth0]",  // zone
           "[example.com]",
           "[]",
           "300.1.1.1",
           "1.2.3",
           "1.2.3.4.5",
           "01.2.3.4",
           "-agent",
           "agent-",
           "a..b",
           ".agent",
           "agent.",
           "user@agent:9188",
           "agent/metrics",
           "agent:9188/x",
           "agent?x=1",
           "agent name",
           "agent\"",
           "<script>",
           "agent\r\nX-Evil: 1",
           "ag\x01ent",
           "\xc3\xa9t\xc3\xa9",  // not an IDNA (punycode) name
       }) {
    EXPECT_FALSE(DiscoveryAddress(bad).has_value()) << bad;
  }
  EXPECT_FALSE(DiscoveryAddress(std::string(64, 'a')).has_value());
  EXPECT_TRUE(DiscoveryAddress(std::string(63, 'a')).has_value());
  std::string long_name;
  for (int i = 0; i < 64; ++i) long_name += "abc.";
  long_name += "a";  // 257 characters
  EXPECT_FALSE(DiscoveryAddress(long_name).has_value());
}

TEST(DiscoveryDocumentTest, OneGroupPerTargetWithProbeLabels) {
  EXPECT_EQ(DiscoveryDocument({"main", "bouncer"}, "[::1]:9188"),
            R"([
  {
    "targets": [
      "[::1]:9188"
    ],
    "labels": {
      "__metrics_path__": "/probe",
      "__param_target": "main",
      "target": "main"
    }
  },
  {
    "targets": [
      "[::1]:9188"
    ],
    "labels": {
      "__metrics_path__": "/probe",
      "__param_target": "bouncer",
      "target": "bouncer"
    }
  }
]
)");
  EXPECT_EQ(DiscoveryDocument({}, "agent:9188"), "[]\n");
}

TEST(DiscoveryDocumentTest, TargetNamesAreJsonEscaped) {
  const std::string doc = DiscoveryDocument({"a\"b\\c\n"}, "agent");
  EXPECT_NE(doc.find(R"("target": "a\"b\\c\n")"), std::string::npos) << doc;
}

// The endpoint through the real server.
class Source final : public ExpositionSource {
 public:
  std::shared_ptr<const Exposition> Current() const override {
    return std::make_shared<const Exposition>("");
  }
  bool Ready() const override { return true; }
  std::vector<std::string> TargetNames() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return names_;
  }
  void Set(std::vector<std::string> names) {
    std::lock_guard<std::mutex> lock(mu_);
    names_ = std::move(names);
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> names_;
};

// One request on a fresh connection, exactly as given; the whole answer.
std::string RawRequest(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      send(fd, request.data(), request.size(), 0) ==
          static_cast<ssize_t>(request.size())) {
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, n);
  }
  close(fd);
  return out;
}

class DiscoveryServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(source_, logger_, options);
    ASSERT_TRUE(server_->Bind({"127.0.0.1", 0}).ok());
    thread_ = std::thread([this] { (void)server_->Serve(); });
    for (int i = 0; i < 200; ++i) {
      httplib::Client c("127.0.0.1", server_->port());
      if (c.Get("/healthz")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void TearDown() override {
    if (server_) {
      server_->Stop();
      thread_.join();
    }
  }
  std::string Get(const std::string& host_lines) {
    return RawRequest(server_->port(), "GET /discovery HTTP/1.1\r\n" +
                                           host_lines +
                                           "Connection: close\r\n\r\n");
  }
  FakeClock clock_;
  std::ostringstream log_;
  Logger logger_{&log_, LogLevel::kInfo, LogFormat::kLogfmt, &clock_};
  Source source_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(DiscoveryServerTest, ListsTheTargetsAtTheRequestedAddress) {
  source_.Set({"main", "bouncer"});
  Start();
  httplib::Client c("127.0.0.1", server_->port());
  auto res =
      c.Get("/discovery", {{"Host", "pgconn-0.pgconn.monitoring.svc:9188"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body,
            DiscoveryDocument({"main", "bouncer"},
                              "pgconn-0.pgconn.monitoring.svc:9188"));
  // A target added (as a reload does) is in the next answer.
  source_.Set({"main", "bouncer", "replica"});
  res = c.Get("/discovery", {{"Host", "[::1]:9188"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body,
            DiscoveryDocument({"main", "bouncer", "replica"}, "[::1]:9188"));
}

TEST_F(DiscoveryServerTest, RefusesABadHostWithoutReflectingIt) {
  source_.Set({"main"});
  Start();
  for (const std::string& hosts : {
           std::string("Host: <script>alert(1)</script>\r\n"),
           std::string("Host: evil.example:9188/\"x\r\n"),
           std::string("Host: a:1\r\nHost: b:2\r\n"),  // two
           std::string("Host: user@agent\r\n"),
           std::string(),  // none (HTTP/1.1 requires one)
       }) {
    const std::string res = Get(hosts);
    EXPECT_EQ(res.rfind("HTTP/1.1 400 ", 0), 0u) << hosts << "\n" << res;
    EXPECT_EQ(res.find("script"), std::string::npos) << res;
    EXPECT_EQ(res.find("evil"), std::string::npos) << res;
    EXPECT_EQ(res.find("user@"), std::string::npos) << res;
  }
  const std::string ok = Get("Host: 127.0.0.1:9188\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 ", 0), 0u) << ok;
}

std::string BcryptHash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof(salt)),
            nullptr);
  crypt_data data{};
  return crypt_rn(password.c_str(), salt, &data, sizeof(data));
}

TEST_F(DiscoveryServerTest, NeedsTheSameAuthenticationAsEveryPath) {
  char path[] = "/tmp/pgconn-web-XXXXXX";
  close(mkstemp(path));
  std::ofstream(path) << "basic_auth_users:\n  prometheus: '"
                      << BcryptHash("s3cret") << "'\n";
  source_.Set({"main"});
  HttpServerOptions o;
  o.web_config_file = path;
  Start(o);
  httplib::Client c("127.0.0.1", server_->port());
  auto res = c.Get("/discovery");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->body.find("main"), std::string::npos);
  c.set_basic_auth("prometheus", "s3cret");
  res = c.Get("/discovery");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("\"__param_target\": \"main\""), std::string::npos);
  std::remove(path);
}

}  // namespace
}  // namespace pgconn
