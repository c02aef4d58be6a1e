// The pgconn-agent binary as users run it: flags, exit codes, HTTP, and the
// database going away and coming back.
#include "integration/agent_process.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "integration/eventually.h"
#include "integration/exposition_parser.h"
#include "integration/pg_server.h"

namespace pgconn {
namespace {

using testing::Eventually;

using testing::FreePort;
using testing::ParseSamples;
using testing::RunCommand;
using testing::TestPostgres;

using testing::AgentProcess;
using testing::ReadFile;
using testing::TempPath;

class AgentProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pg = TestPostgres::Create(TestPostgres::Options{});
    // No ASSERT here: GoogleTest would skip the suite's tests, and CTest
    // count them as skipped. SetUp fails each test with the error instead.
    if (!pg.ok()) {
      setup_error_ = pg.status().ToString();
      return;
    }
    pg_ = std::move(*pg).release();
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");  // of SetUpTestSuite
    ASSERT_NE(pg_, nullptr);
    ASSERT_TRUE(pg_->Start().ok());
  }
  static std::map<std::string, std::string> DbEnv() {
    return {{"DB_HOST", "127.0.0.1"},
            {"DB_PORT", std::to_string(pg_->port())},
            {"DB_USER", "postgres"},
            {"DB_NAME", "postgres"}};
  }
  static TestPostgres* pg_;
  static std::string setup_error_;
};
TestPostgres* AgentProcessTest::pg_ = nullptr;
std::string AgentProcessTest::setup_error_;

TEST_F(AgentProcessTest, OncePrintsMetricsThatPromtoolAccepts) {
  AgentProcess agent({"--once"}, DbEnv());
  ASSERT_EQ(agent.Wait(), 0) << agent.Stderr();
  const std::string out = agent.Stdout();
  const std::string target =
      "127.0.0.1:" + std::to_string(pg_->port()) + "/postgres";
  auto s = ParseSamples(out);
  EXPECT_EQ(s["pgconn_up{target=\"" + target + "\"}"], 1) << out;
  EXPECT_EQ(s["pgconn_max_connections{target=\"" + target + "\"}"], 40);
  ASSERT_EQ(access("/usr/bin/promtool", X_OK), 0)
      << "promtool is required (Debian package prometheus)";
  const std::string log = TempPath("promtool");
  const int rc = RunCommand(
      "/usr/bin/promtool check metrics < " + agent.stdout_path(), log);
  EXPECT_EQ(rc, 0) << ReadFile(log);
  std::remove(log.c_str());
}

TEST_F(AgentProcessTest, OnceExitsOneWhenATargetIsUnreachable) {
  AgentProcess agent({"--once"}, {{"DB_HOST", "127.0.0.1"},
                                  {"DB_PORT", std::to_string(FreePort())},
                                  {"DB_USER", "postgres"},
                                  {"DB_PASSWORD", "hunter2"}});
  EXPECT_EQ(agent.Wait(), 1) << agent.Stderr();
  EXPECT_NE(agent.Stdout().find("pgconn_up{"), std::string::npos);
  EXPECT_NE(agent.Stderr().find("msg=\"poll failed\""), std::string::npos);
  EXPECT_NE(agent.Stderr().find("reason=connect"), std::string::npos);
  EXPECT_EQ(agent.Stderr().find("hunter2"), std::string::npos);
  EXPECT_EQ(agent.Stdout().find("hunter2"), std::string::npos);
}

TEST_F(AgentProcessTest, BadConfigurationExitsTwoWithOneClearMessage) {
  const std::string bad_yaml = TempPath("yaml");
  std::ofstream(bad_yaml) << "poll_interval: 5s\ntargets:\n  - name: a\n"
                             "    password: hunter2\n    sslmode: sometimes\n";
  const std::vector<
      std::pair<std::vector<std::string>, std::map<std::string, std::string>>>
      cases = {
          {{}, {{"DB_PORT", "abc"}, {"DB_PASSWORD", "hunter2"}}},
          {{"--poll.interval=0s"}, {}},
          {{"--poll.interval=-1s"}, {}},
          {{"--no-such-flag"}, {}},
          {{"--config.file=" + bad_yaml}, {}},
          {{"--config.file=/nonexistent.yaml"}, {}},
          {{}, {{"DATABASE_URL", "mysql://u:hunter2@h/db"}}},
      };
  const std::vector<std::string> expected = {
      "environment variable DB_PORT=abc",
      "flag --poll.interval=0s: must be positive",
      "flag --poll.interval=-1s",
      "unknown flag --no-such-flag",
      bad_yaml + ":5:14: \"sslmode\": \"sometimes\" is not one of",
      "--config.file=/nonexistent.yaml: cannot read",
      "environment variable DATABASE_URL: not a postgresql:// or postgres:// "
      "URL",
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    AgentProcess agent(cases[i].first, cases[i].second);
    EXPECT_EQ(agent.Wait(), 2) << expected[i];
    const std::string err = agent.Stderr();
    EXPECT_NE(err.find(expected[i]), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
  }
  std::remove(bad_yaml.c_str());
}

TEST_F(AgentProcessTest, HelpAndVersion) {
  AgentProcess help({"--help"}, {{"DB_PASSWORD", "hunter2"}});
  EXPECT_EQ(help.Wait(), 0);
  EXPECT_NE(help.Stdout().find("--web.listen-address"), std::string::npos);
  EXPECT_EQ(help.Stdout().find("hunter2"), std::string::npos);
  AgentProcess version({"--version"}, {});
  EXPECT_EQ(version.Wait(), 0);
  EXPECT_EQ(version.Stdout().rfind("pgconn-agent 0.1.0", 0), 0u)
      << version.Stdout();
}

TEST_F(AgentProcessTest, ServesMetricsAndSurvivesTheDatabaseRestarting) {
  const int port = FreePort();
  const std::string cfg = TempPath("yaml");
  std::ofstream(cfg) << "poll_interval: 250ms\nconnect_timeout: 2s\n"
                        "backoff_max: 1s\ntargets:\n  - name: it\n"
                        "    host: 127.0.0.1\n    port: "
                     << pg_->port()
                     << "\n    user: postgres\n    dbname: postgres\n";
  AgentProcess agent({"--config.file=" + cfg,
                      "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                     {});
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(2, 0);
  auto up = [&]() -> std::optional<double> {
    auto res = client.Get("/metrics");
    if (!res || res->status != 200) return std::nullopt;
    auto s = ParseSamples(res->body);
    auto it = s.find("pgconn_up{target=\"it\"}");
    if (it == s.end()) return std::nullopt;
    return it->second;
  };
  ASSERT_TRUE(Eventually([&] { return up() == 1.0; })) << agent.Stderr();
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  // At most one connection of ours, ever: check it across several polls.
  for (int i = 0; i < 5; ++i) {
    auto n = pg_->QueryValue(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
        "'pgconn-agent'");
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, "1");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  ASSERT_TRUE(pg_->Stop().ok());
  const auto stopped_at = std::chrono::steady_clock::now();
  // Within one poll interval plus the connect timeout (and some slack).
  ASSERT_TRUE(Eventually([&] { return up() == 0.0; }, std::chrono::seconds(5)))
      << agent.Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at,
            std::chrono::milliseconds(250 + 2000 + 1000));
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("pgconn_max_connections{target=\"it\"} 40"),
            std::string::npos);

  ASSERT_TRUE(pg_->Start().ok());
  ASSERT_TRUE(Eventually([&] { return up() == 1.0; })) << agent.Stderr();
  const std::string log = agent.Stderr();
  // Logged once per state change, not once per failed poll.
  size_t failed = 0;
  for (size_t p = 0;
       (p = log.find("msg=\"poll failed\"", p)) != std::string::npos; ++p) {
    ++failed;
  }
  EXPECT_GE(failed, 1u);
  EXPECT_LE(failed, 2u) << log;  // connection_lost, then connect

  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(std::chrono::seconds(10)), 0) << agent.Stderr();
  EXPECT_NE(agent.Stderr().find("msg=\"shutting down\""), std::string::npos);
  std::remove(cfg.c_str());
}

// --- The HTTP front door (issue 9): the real binary under hostile clients,
// TLS, basic auth and the web config file.

// A connected loopback socket, closed when destroyed; -1 if connect failed.
class Socket {
 public:
  explicit Socket(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  bool ok() const { return fd_ >= 0; }
  // False once the peer has closed or reset the connection.
  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  int fd_;
};

// Enough descriptors for thousands of sockets, here and in the agent
// (which inherits the limit).
void RaiseFileLimit(rlim_t want) {
  rlimit lim{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_cur < want) {
    lim.rlim_cur = std::min(want, lim.rlim_max);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
  }
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  ASSERT_GE(lim.rlim_cur, want) << "hard RLIMIT_NOFILE too low";
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif
#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif
#else
constexpr bool kThreadSanitizer = false;
#endif

double RssBytes(pid_t pid) {
  const std::string status =
      ReadFile("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmRSS:");
  if (at == std::string::npos) return -1;
  return std::strtod(status.c_str() + at + 6, nullptr) * 1024;
}

std::string Bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof(salt)) == nullptr)
    return "";
  crypt_data data{};
  const char* h = crypt_rn(password.c_str(), salt, &data, sizeof(data));
  return h == nullptr ? "" : h;
}

class AgentHttpTest : public AgentProcessTest {
 protected:
  // Starts the agent on a free port, polling the test server as "it".
  std::unique_ptr<AgentProcess> StartAgent(
      std::vector<std::string> extra = {}) {
    port_ = FreePort();
    cfg_ = TempPath("yaml");
    std::ofstream(cfg_) << "poll_interval: 250ms\ntargets:\n  - name: it\n"
                           "    host: 127.0.0.1\n    port: "
                        << pg_->port()
                        << "\n    user: postgres\n    dbname: postgres\n";
    std::vector<std::string> args = {
        "--config.file=" + cfg_,
        "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<AgentProcess>(args,
                                          std::map<std::string, std::string>{});
  }
  void TearDown() override {
    if (!cfg_.empty()) std::remove(cfg_.c_str());
    if (!dir_.empty()) RunCommand("rm -rf " + dir_);
  }
  // A scrape as Prometheus does it: a fresh connection, a 4 s timeout (20 s
  // in the sanitizer build, a Debug build several times slower).
  std::optional<double> ScrapeUp() {
    httplib::Client c("127.0.0.1", port_);
    const int timeout = kAddressSanitizer ? 20 : 4;
    c.set_connection_timeout(timeout, 0);
    c.set_read_timeout(timeout, 0);
    auto res = c.Get("/metrics");
    if (!res || res->status != 200) return std::nullopt;
    auto s = ParseSamples(res->body);
    auto it = s.find("pgconn_up{target=\"it\"}");
    if (it == s.end()) return std::nullopt;
    return it->second;
  }
  std::string TempDir() {
    char tmpl[] = "/tmp/pgconn-web-XXXXXX";
    dir_ = mkdtemp(tmpl);
    return dir_;
  }
  // curl's HTTP status for `url` with `options`, or "" if curl failed.
  std::string Curl(const std::string& options, const std::string& url) {
    const std::string out = TempPath("curl");
    const int rc =
        RunCommand("curl -s -o /dev/null -w '%{http_code}' --max-time 5 " +
                       options + " '" + url + "' > " + out,
                   "");
    std::string code = ReadFile(out);
    std::remove(out.c_str());
    return rc == 0 ? code : "";
  }
  int port_ = 0;
  std::string cfg_, dir_;
};

TEST_F(AgentHttpTest, ScrapesSucceedWhileThousandsOfHostileSocketsAreOpen) {
  RaiseFileLimit(8192);
  auto agent = StartAgent();
  ASSERT_TRUE(Eventually([&] { return ScrapeUp() == 1.0; })) << agent->Stderr();
  std::vector<std::unique_ptr<Socket>> idle, slow, held;
  for (int i = 0; i < 500; ++i) {
    idle.push_back(std::make_unique<Socket>(port_));
    ASSERT_TRUE(idle.back()->ok());
  }
  for (int i = 0; i < 50; ++i) {
    slow.push_back(std::make_unique<Socket>(port_));
    ASSERT_TRUE(slow.back()->ok());
    slow.back()->Send("GET /metrics HTTP/1.1\r\nHost: x\r\n");
  }
  for (int i = 0; i < 2000; ++i) {
    held.push_back(std::make_unique<Socket>(port_));
    ASSERT_TRUE(held.back()->ok());
    held.back()->Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  // Slowloris keeps dribbling header lines while the scrapes run.
  for (int round = 0; round < 3; ++round) {
    for (auto& s : slow) s->Send("X-Slow: 1\r\n");
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(ScrapeUp(), 1.0) << "round " << round << "\n" << agent->Stderr();
    std::cout << "scrape " << round << " with 2,550 hostile sockets: "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count()
              << " ms\n";
  }
  agent->Signal(SIGTERM);
  EXPECT_EQ(agent->Wait(std::chrono::seconds(10)), 0) << agent->Stderr();
}

TEST_F(AgentHttpTest, AMillionHeaderRequestIsRefusedInConstantMemory) {
  auto agent = StartAgent();
  ASSERT_TRUE(Eventually([&] { return ScrapeUp() == 1.0; })) << agent->Stderr();
  const double rss_before = RssBytes(agent->pid());
  std::string lines;
  for (int i = 0; i < 10000; ++i) lines += "X-H: 0123456789\r\n";
  for (int attempt = 0; attempt < 4; ++attempt) {
    Socket s(port_);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
    // 100 x 10,000 = 1 M header lines, 17 MB; the agent gives up after its
    // 16 KiB limit and closes, so the sending fails early.
    int sent = 0;
    while (sent < 100 && s.Send(lines)) ++sent;
    EXPECT_LT(sent, 100) << "the agent read a million headers";
  }
  EXPECT_EQ(ScrapeUp(), 1.0);
  const double rss = RssBytes(agent->pid());
  EXPECT_GT(rss_before, 0);
  // Constant memory: what four refused requests leave behind is noise.
  EXPECT_LT(rss - rss_before, 4.0 * 1024 * 1024) << rss_before << " -> " << rss;
  if (!kAddressSanitizer && !kThreadSanitizer) {  // their shadow memory
    EXPECT_LT(rss, 30.0 * 1024 * 1024);           // alone is more
  }
}

TEST_F(AgentHttpTest, SigtermWithKeepAliveClientsExitsWithinOneSecond) {
  auto agent = StartAgent();
  ASSERT_TRUE(Eventually([&] { return ScrapeUp() == 1.0; })) << agent->Stderr();
  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<httplib::Client>("127.0.0.1", port_));
    clients.back()->set_keep_alive(true);
    auto res = clients.back()->Get("/metrics");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
  }
  const auto start = std::chrono::steady_clock::now();
  agent->Signal(SIGTERM);
  EXPECT_EQ(agent->Wait(std::chrono::seconds(10)), 0) << agent->Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(AgentHttpTest, ProbeServesOneTargetAndRefusesOthers) {
  auto agent = StartAgent();
  ASSERT_TRUE(Eventually([&] { return ScrapeUp() == 1.0; })) << agent->Stderr();
  httplib::Client c("127.0.0.1", port_);
  auto res = c.Get("/probe?target=it");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto s = ParseSamples(res->body);
  EXPECT_EQ(s["pgconn_up{target=\"it\"}"], 1);
  EXPECT_EQ(s.count("pgconn_build_info{version=\"0.1.0\"}"), 0u);
  EXPECT_EQ(res->body.find("process_"), std::string::npos);
  for (const auto& [key, value] : s) {
    EXPECT_NE(key.find("target=\"it\""), std::string::npos) << key;
  }
  auto unknown = c.Get("/probe?target=host%3D10.0.0.1%20user%3Dx");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(unknown->body.find("unknown target \"host=10.0.0.1 user=x\""),
            std::string::npos);
}

TEST_F(AgentHttpTest, BadWebConfigExitsTwoNamingTheKey) {
  const std::string dir = TempDir();
  std::ofstream(dir + "/a.yml") << "tls_server_config:\n  cert_file: x.crt\n"
                                   "  key_file: x.key\n  min_version: TLS9\n";
  std::ofstream(dir + "/b.yml") << "basic_auth_users:\n  admin: hunter2\n";
  std::ofstream(dir + "/c.yml") << "tls_server_config:\n  cert_file: none.crt\n"
                                   "  key_file: none.key\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir + "/a.yml", dir + "/a.yml:4:16: \"tls_server_config.min_version\""},
      {dir + "/b.yml",
       dir + "/b.yml:2:10: \"basic_auth_users.admin\": is not a bcrypt hash"},
      {dir + "/c.yml",
       "\"tls_server_config.cert_file\": cannot load " + dir + "/none.crt"},
      {dir + "/missing.yml",
       "--web.config.file=" + dir + "/missing.yml: cannot read"},
  };
  for (const auto& [file, expected] : cases) {
    auto agent = StartAgent({"--web.config.file=" + file});
    EXPECT_EQ(agent->Wait(), 2) << file;
    const std::string err = agent->Stderr();
    EXPECT_NE(err.find(expected), std::string::npos) << err;
    EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
  }
}

TEST_F(AgentHttpTest, BasicAuth) {
  const std::string dir = TempDir();
  const std::string hash = Bcrypt("s3cret");
  ASSERT_EQ(hash.size(), 60u);
  std::ofstream(dir + "/web.yml")
      << "basic_auth_users:\n  prometheus: '" << hash
      << "'\nhttp_server_config:\n  headers:\n"
         "    X-Frame-Options: deny\n";
  auto agent = StartAgent({"--web.config.file=" + dir + "/web.yml"});
  const std::string url =
      "http://127.0.0.1:" + std::to_string(port_) + "/metrics";
  ASSERT_TRUE(Eventually([&] {
    return Curl("-u prometheus:s3cret", url) == "200";
  })) << agent->Stderr();
  EXPECT_EQ(Curl("", url), "401");
  EXPECT_EQ(Curl("-u prometheus:wrong", url), "401");
  EXPECT_EQ(Curl("-u nobody:s3cret", url), "401");
  httplib::Client c("127.0.0.1", port_);
  c.set_basic_auth("prometheus", "s3cret");
  auto res = c.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("X-Frame-Options"), "deny");
  c.set_basic_auth("prometheus", "nope");
  auto denied = c.Get("/metrics");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(denied->get_header_value("WWW-Authenticate"), "Basic");
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, made
// with the openssl command line.
void MakeCertificates(const std::string& dir) {
  const std::string log = dir + "/openssl.log";
  const std::vector<std::string> steps = {
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca "
      "-keyout ca.key -out ca.crt",
      "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "
      "server.key -out server.csr",
      "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext",
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key "
      "-CAcreateserial -days 2 -extfile san.ext -out server.crt",
      "openssl req -newkey rsa:2048 -nodes -subj /CN=prometheus -keyout "
      "client.key -out client.csr",
      "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key "
      "-CAcreateserial -days 2 -out client.crt",
  };
  for (const auto& step : steps) {
    ASSERT_EQ(RunCommand("cd " + dir + " && " + step, log), 0) << step << "\n"
                                                               << ReadFile(log);
  }
}

TEST_F(AgentHttpTest, ServesTlsWithTheConfiguredCertificate) {
  const std::string dir = TempDir();
  MakeCertificates(dir);
  std::ofstream(dir + "/web.yml") << "tls_server_config:\n  cert_file: "
                                     "server.crt\n  key_file: server.key\n";
  auto agent = StartAgent({"--web.config.file=" + dir + "/web.yml"});
  const std::string url =
      "https://127.0.0.1:" + std::to_string(port_) + "/metrics";
  ASSERT_TRUE(Eventually([&] {
    return Curl("--cacert " + dir + "/ca.crt", url) == "200";
  })) << agent->Stderr();
  // Not trusted without the CA; plain HTTP is not spoken.
  EXPECT_EQ(Curl("", url), "");
  EXPECT_NE(Curl("", "http://127.0.0.1:" + std::to_string(port_) + "/metrics"),
            "200");
  EXPECT_EQ(Curl("--cacert " + dir + "/ca.crt --tls-max 1.2", url), "200");
}

TEST_F(AgentHttpTest, RequiresAVerifiedClientCertificate) {
  const std::string dir = TempDir();
  MakeCertificates(dir);
  std::ofstream(dir + "/web.yml")
      << "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
         "  client_auth_type: RequireAndVerifyClientCert\n"
         "  client_ca_file: ca.crt\n  min_version: TLS13\n";
  auto agent = StartAgent({"--web.config.file=" + dir + "/web.yml"});
  const std::string url =
      "https://127.0.0.1:" + std::to_string(port_) + "/metrics";
  const std::string ca = "--cacert " + dir + "/ca.crt ";
  const std::string client =
      ca + "--cert " + dir + "/client.crt --key " + dir + "/client.key";
  ASSERT_TRUE(Eventually([&] { return Curl(client, url) == "200"; }))
      << agent->Stderr();
  EXPECT_EQ(Curl(ca, url), "");
  // A self-signed client certificate is refused too.
  ASSERT_EQ(
      RunCommand("cd " + dir +
                     " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
                     "-subj /CN=mallory -keyout m.key -out m.crt",
                 dir + "/openssl.log"),
      0);
  EXPECT_EQ(Curl(ca + "--cert " + dir + "/m.crt --key " + dir + "/m.key", url),
            "");
  // min_version TLS13.
  EXPECT_EQ(Curl(client + " --tls-max 1.2", url), "");
}

}  // namespace
}  // namespace pgconn
