// The live status page in a real browser: headless Chromium loads / from a
// real agent polling a real PostgreSQL, under the page's own
// Content-Security-Policy; its script fetches /api/v1/status and draws it,
// and the rendered DOM must show the numbers that /metrics shows, with a
// hostile application name as text:
// the connections, the declared pool's picture (workers × DB_POOL_MAX
// against the usable slots, its busy peak on it) and the last hour's chart.
// A screenshot of the page is saved in the build directory
// (status-page.png; docs/images/status-page.png is one of them).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <utility>
#include <vector>

#include "integration/eventually.h"
#include "integration/exposition_parser.h"
#include "integration/pg_server.h"

extern char** environ;

namespace pgconn {
namespace {

using testing::Eventually;
using testing::FreePort;
using testing::ParseSamples;
using testing::RunCommand;
using testing::TestClient;
using testing::TestPostgres;

constexpr char kChromium[] = "/usr/bin/chromium";
constexpr char kHostile[] = "<img src=x onerror=alert(1)>";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

// The agent as a child process, killed at the end of the test.
class Agent {
 public:
  explicit Agent(const std::vector<std::string>& args) {
    std::vector<char*> argv{const_cast<char*>(PGCONN_AGENT_BINARY)};
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, PGCONN_AGENT_BINARY, nullptr, nullptr, argv.data(),
                    environ) != 0) {
      pid_ = -1;
    }
  }
  ~Agent() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

// Text of every element with data-field="NAME" in a serialized DOM.
std::vector<std::string> Fields(const std::string& dom,
                                const std::string& name) {
  std::vector<std::string> out;
  const std::regex re("data-field=\"" + name + "\">([^<]*)<");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), re);
       it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

// Application name (as serialized, so escaped) -> connections cell.
std::map<std::string, std::string> ApplicationRows(const std::string& dom) {
  std::map<std::string, std::string> out;
  const std::regex re(
      "<td class=\"application\">([^<]*)</td><td "
      "data-field=\"connections\">([0-9]+)</td>");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), re);
       it != std::sregex_iterator(); ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

std::string Number(double v) {
  std::ostringstream s;
  s << static_cast<int64_t>(v);
  return s.str();
}

class StatusPageBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A missing browser fails (never skips): CI installs chromium
    // (scripts/debian-packages.txt).
    ASSERT_EQ(access(kChromium, X_OK), 0)
        << kChromium << " missing: apt-get install chromium";
    TestPostgres::Options o;
    o.max_connections = 20;
    auto pg = TestPostgres::Create(o);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(*pg);
    ASSERT_TRUE(pg_->Start().ok());
    char tmpl[] = "/tmp/pgconn-browser-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) RunCommand("rm -rf '" + dir_ + "'");
  }

  // Runs headless Chromium on `url` with `mode` (--dump-dom or
  // --screenshot=...); returns its stdout. The virtual time budget lets the
  // page's script fetch the JSON and draw it before the dump.
  std::string Chromium(const std::string& mode, const std::string& url) {
    const std::string out = dir_ + "/chromium.out";
    const std::string cmd =
        "timeout 90 " + std::string(kChromium) +
        " --headless --no-sandbox --disable-gpu --no-first-run"
        " --disable-dev-shm-usage --hide-scrollbars --window-size=960,600"
        " --virtual-time-budget=5000"
        " --user-data-dir='" +
        dir_ + "/profile' " + mode + " '" + url + "' > '" + out + "' 2> '" +
        dir_ + "/chromium.err'";
    const int rc = RunCommand(cmd);
    EXPECT_EQ(rc, 0) << cmd << "\n" << Slurp(dir_ + "/chromium.err");
    return Slurp(out);
  }

  std::unique_ptr<TestPostgres> pg_;
  std::string dir_;
};

TEST_F(StatusPageBrowserTest, RenderedPageShowsTheMetricsAndEscapesNames) {
  const std::string url = pg_->Url();
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 3; ++i) {
    auto c = TestClient::Open(url, "worker");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    clients.push_back(std::move(*c));
  }
  // One of the worker's connections is checked out: its busy peak is 1.
  ASSERT_TRUE(clients[0]->Exec("BEGIN").ok());
  auto hostile = TestClient::Open(url, kHostile);
  ASSERT_TRUE(hostile.ok()) << hostile.status().ToString();
  ASSERT_TRUE((*hostile)->Exec("BEGIN").ok());  // idle in transaction
  clients.push_back(std::move(*hostile));

  const int port = FreePort();
  const std::string cfg = dir_ + "/pgconn.yaml";
  std::ofstream(cfg) << "poll_interval: 250ms\nconnect_timeout: 2s\n"
                        "targets:\n  - name: browser\n    host: 127.0.0.1\n"
                        "    port: "
                     << pg_->port()
                     << "\n    user: postgres\n    dbname: postgres\n"
                        "    overhead: 2\n    pools:\n"
                        "      - application: worker\n        replicas: 2\n"
                        "        pool_min: 1\n        pool_max: 3\n";
  Agent agent({"--config.file=" + cfg,
               "--web.listen-address=127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(agent.started());
  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(1, 0);
  http.set_read_timeout(5, 0);
  const std::string hostile_series =
      "pgconn_connections{target=\"browser\",application=\"" +
      std::string(kHostile) + "\",state=\"idle in transaction\"}";
  // The samples the page shows as they are (ages and poll counters move on
  // every poll; these stay while the sessions do).
  auto metrics = [&]() {
    std::map<std::string, double> out;
    auto res = http.Get("/metrics");
    if (!res || res->status != 200) return out;
    for (const auto& [series, v] : ParseSamples(res->body)) {
      for (const char* name :
           {"pgconn_connections{", "pgconn_used_connections{",
            "pgconn_usable_connections{", "pgconn_available_connections{",
            "pgconn_used_connections_peak{",
            "pgconn_pool_busy_peak_connections{",
            "pgconn_pool_budget_connections{"}) {
        if (series.rfind(name, 0) == 0) out[series] = v;
      }
    }
    return out;
  };
  ASSERT_TRUE(Eventually([&] {
    auto m = metrics();
    auto it = m.find(hostile_series);
    return it != m.end() && it->second == 1;
  }));

  // The sessions stay as they are, so /metrics is the same before and
  // after the browser loads the page; retry if a poll fell in between, or
  // if the script had not drawn the JSON yet when the DOM was dumped.
  std::string dom;
  std::map<std::string, double> before;
  ASSERT_TRUE(Eventually(
      [&] {
        before = metrics();
        dom = Chromium("--dump-dom",
                       "http://127.0.0.1:" + std::to_string(port) + "/");
        return dom.find("data-load=\"rendered\"") != std::string::npos &&
               before == metrics();
      },
      std::chrono::seconds(60), std::chrono::milliseconds(100)))
      << dom;

  auto metric = [&](const std::string& name) {
    return Number(before.at(name + "{target=\"browser\"}"));
  };
  EXPECT_EQ(Fields(dom, "used_connections"),
            std::vector<std::string>{metric("pgconn_used_connections")})
      << dom;
  EXPECT_EQ(Fields(dom, "usable_connections"),
            std::vector<std::string>{metric("pgconn_usable_connections")});
  EXPECT_EQ(Fields(dom, "available_connections"),
            std::vector<std::string>{metric("pgconn_available_connections")});
  EXPECT_EQ(metric("pgconn_usable_connections"), "17");  // 20 - 3 reserved
  // The peak over the window, as pgconn_used_connections_peak has it.
  const auto peak = Fields(dom, "used_connections_peak");
  ASSERT_EQ(peak.size(), 1u) << dom;
  EXPECT_EQ(peak[0].substr(0, peak[0].find(' ')),
            metric("pgconn_used_connections_peak"))
      << peak[0];

  // The declared pool: 2 workers × DB_POOL_MAX 3 against the 17 usable
  // slots, its busy peak as pgconn_pool_busy_peak_connections has it.
  const std::string busy_peak = Number(before.at(
      "pgconn_pool_busy_peak_connections{target=\"browser\",application="
      "\"worker\"}"));
  EXPECT_EQ(busy_peak, "1");
  EXPECT_NE(dom.find("data-field=\"pool_picture\" data-usable=\"17\" "
                     "data-budget=\"" +
                     metric("pgconn_pool_budget_connections") + "\""),
            std::string::npos)
      << dom;
  EXPECT_NE(dom.find("data-application=\"worker\" data-declared-max=\"6\" "
                     "data-busy-peak=\"" +
                     busy_peak + "\""),
            std::string::npos)
      << dom;
  EXPECT_EQ(Fields(dom, "busy_peak_connections"),
            std::vector<std::string>{busy_peak});
  // Drawn to scale against the 17 usable slots: the pool's 2 × 3 is
  // 35.29 % of the bar, its busy peak 1 of 6 (16.67 %) the darker part,
  // the headroom line at 80 % of the usable slots.
  const std::regex pool_segment(
      "data-application=\"worker\" data-declared-max=\"6\" "
      "data-busy-peak=\"1\" title=\"[^\"]*\" style=\"width: 35\\.29%;"
      "[^\"]*\"><span class=\"peak\" style=\"width: 16\\.67%;\">");
  EXPECT_TRUE(std::regex_search(dom, pool_segment)) << dom;
  // (The browser writes 80.00 % back as 80 %.)
  EXPECT_TRUE(std::regex_search(
      dom, std::regex("<span class=\"line\" title=\"headroom: 80\\.0 % of "
                      "usable\" style=\"left: 80(\\.00)?%;\"></span>")))
      << dom;
  // The last hour: at least one poll, its highest the used connections
  // (the sessions have not changed since the agent started).
  const std::regex chart(
      "<svg class=\"history\" data-field=\"used_history\" "
      "data-samples=\"([0-9]+)\" data-highest=\"([0-9]+)\"");
  std::smatch drawn;
  ASSERT_TRUE(std::regex_search(dom, drawn, chart)) << dom;
  EXPECT_GE(std::stoi(drawn[1]), 1);
  EXPECT_EQ(drawn[2].str(), metric("pgconn_used_connections"));
  EXPECT_NE(dom.find("<polyline class=\"used\" points=\""), std::string::npos);
  EXPECT_EQ(Fields(dom, "used_highest"),
            std::vector<std::string>{metric("pgconn_used_connections")});

  // Per application: the sum over states of pgconn_connections.
  std::map<std::string, double> by_app;
  const std::regex series(
      "pgconn_connections\\{target=\"browser\",application=\"(.*)\",state=");
  for (const auto& [s, v] : before) {
    std::smatch m;
    if (std::regex_search(s, m, series)) by_app[m[1]] += v;
  }
  const auto rows = ApplicationRows(dom);
  ASSERT_EQ(by_app.count("worker"), 1u);
  EXPECT_EQ(rows.at("worker"), Number(by_app["worker"]));
  // The hostile name is text: serialized escaped, and no <img> element
  // exists in the rendered document.
  EXPECT_EQ(rows.at("&lt;img src=x onerror=alert(1)&gt;"),
            Number(by_app[kHostile]));
  EXPECT_EQ(by_app[kHostile], 1);
  EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
  size_t apps_with_connections = 0;
  for (const auto& [app, n] : by_app) apps_with_connections += n > 0;
  EXPECT_EQ(rows.size(), apps_with_connections);

  // The same numbers in the JSON.
  auto json = http.Get("/api/v1/status");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->status, 200);
  EXPECT_EQ(json->get_header_value("Content-Type"), "application/json");
  EXPECT_NE(json->body.find("\"used_connections\": " +
                            metric("pgconn_used_connections")),
            std::string::npos)
      << json->body;

  // The page is static: its HTML, style and script, each under a policy
  // that runs no inline script and loads nothing from another origin (the
  // DOM above was drawn under it).
  const std::string policy =
      "default-src 'none'; script-src 'self'; style-src 'self'; "
      "connect-src 'self'; base-uri 'none'; form-action 'none'";
  size_t page_bytes = 0;
  for (const auto& [path, type] :
       std::vector<std::pair<std::string, std::string>>{
           {"/", "text/html; charset=utf-8"},
           {"/status.css", "text/css; charset=utf-8"},
           {"/status.js", "text/javascript; charset=utf-8"}}) {
    auto asset = http.Get(path);
    ASSERT_TRUE(asset) << path;
    EXPECT_EQ(asset->status, 200) << path;
    EXPECT_EQ(asset->get_header_value("Content-Type"), type) << path;
    EXPECT_EQ(asset->get_header_value("Content-Security-Policy"), policy)
        << path;
    EXPECT_EQ(asset->get_header_value("X-Content-Type-Options"), "nosniff");
    page_bytes += asset->body.size();
  }
  // Small: the three files and the JSON of one target with a declared pool
  // and its chart.
  EXPECT_LT(page_bytes + json->body.size(), 32u * 1024);
  std::printf(
      "status page: %zu bytes of HTML, CSS and script, %zu bytes of JSON\n",
      page_bytes, json->body.size());

  const std::string png = std::string(PGCONN_BINARY_DIR) + "/status-page.png";
  std::remove(png.c_str());
  Chromium("--screenshot=" + png,
           "http://127.0.0.1:" + std::to_string(port) + "/");
  const std::string image = Slurp(png);
  ASSERT_GT(image.size(), 8u) << "no screenshot at " << png;
  EXPECT_EQ(image.substr(1, 3), "PNG");
}

}  // namespace
}  // namespace pgconn
