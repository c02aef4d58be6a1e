#include "pgconn/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <sstream>
#include <thread>

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
  void SetReady() { ready_.store(true); }

 private:
  std::shared_ptr<const Exposition> exposition_;
  std::atomic<bool> ready_{false};
};

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest()
      : logger_(&log_, LogLevel::kInfo, LogFormat::kLogfmt, &clock_),
        publisher_(),
        server_(publisher_, logger_) {
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
  EXPECT_EQ(res->body, publisher_.Current()->text());
  EXPECT_NE(res->body.find("pgconn_up{target=\"main\"} 0"), std::string::npos);
}

TEST_F(HttpServerTest, CompressesWhenTheScraperAcceptsGzip) {
  client_->set_decompress(false);
  auto res = client_->Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Encoding"), "gzip");
  // Exactly the bytes compressed at publish time: not compressed twice.
  const std::string& gzip = publisher_.Current()->gzip();
  EXPECT_TRUE(res->body == gzip)
      << "got " << res->body.size() << " bytes, published " << gzip.size();
  client_->set_decompress(true);
  auto plain = client_->Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->body, publisher_.Current()->text());
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

}  // namespace
}  // namespace pgconn
