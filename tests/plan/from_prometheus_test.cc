// `plan --from-prometheus` end to end against a fake query API (the
// PromQL it sends, the JSON, table and env it writes, exit codes and bad
// input), and the real HTTP client against a local server that answers
// like Prometheus, like a proxy, or not at all.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "fakes/fake_clock.h"
#include "pgconn/plan_command.h"
#include "plan/prometheus_client.h"

namespace pgconn {
namespace {

constexpr double kEnd = 1'765'116'000;  // 2025-12-07T14:00:00Z

// Answers each query by the first rule whose text the PromQL contains.
class FakePrometheus final : public PromQuerier {
 public:
  struct Rule {
    std::string contains;
    std::vector<PromSample> samples;
  };
  explicit FakePrometheus(std::vector<Rule> rules,
                          std::vector<std::string>* log)
      : rules_(std::move(rules)), log_(log) {}

  Result<std::vector<PromSample>> Query(const std::string& expr,
                                        double time_unix) override {
    log_->push_back(expr);
    EXPECT_EQ(time_unix, kEnd) << expr;
    for (const Rule& r : rules_) {
      if (expr.find(r.contains) != std::string::npos) return r.samples;
    }
    return std::vector<PromSample>{};
  }
  std::string Describe() const override { return "http://prom:9090"; }

 private:
  std::vector<Rule> rules_;
  std::vector<std::string>* log_;
};

PromSample One(double v) { return {{}, v}; }
std::vector<PromSample> Apps(std::vector<std::pair<std::string, double>> v) {
  std::vector<PromSample> out;
  for (auto& [app, x] : v) out.push_back({{{"application", app}}, x});
  return out;
}

// A week of target "main": 100 max_connections, 3 reserved, overhead 10, a
// 60 s peak window; worker (10 × 10, busy peak 30, median 8), bot (1 × 5,
// full for 870 s), batch (0 replicas).
std::vector<FakePrometheus::Rule> Week() {
  const double start = kEnd - 7 * 86400;
  return {
      {"count by (target)", {{{{"target", "main"}}, 4}}},
      {"pgconn_peak_window_seconds", {One(60)}},
      {"pgconn_usable_connections", {One(97)}},
      {"pgconn_max_connections", {One(100)}},
      {"pgconn_reserved_connections", {One(3)}},
      {"pgconn_near_limit_threshold_ratio", {One(0.8)}},
      {"pgconn_pool_overhead_connections", {One(10)}},
      {"min(min_over_time(timestamp(pgconn_up", {One(start + 15)}},
      {"max(max_over_time(timestamp(pgconn_up", {One(kEnd - 5)}},
      {"avg(avg_over_time(pgconn_up", {One(1)}},
      {"max(count_over_time(pgconn_up", {One(40320)}},
      {"avg(avg_over_time(up", {One(1)}},
      {"deriv(pgconn_used_connections", {One(1.0 / 3600)}},
      {"predict_linear(pgconn_used_connections", {One(61)}},
      {"last_over_time(pgconn_used_connections{", {One(58)}},
      {"pgconn_used_connections_peak", {One(66)}},
      {"min_over_time(timestamp(pgconn_pool_declared_replicas",
       Apps({{"worker", start + 15}, {"bot", start + 15}, {"batch", start}})},
      {"max_over_time(timestamp(pgconn_pool_declared_replicas",
       Apps({{"worker", kEnd - 5}, {"bot", kEnd - 5}, {"batch", kEnd - 5}})},
      {"pgconn_pool_declared_replicas",
       Apps({{"worker", 10}, {"bot", 1}, {"batch", 0}})},
      {"pgconn_pool_declared_worker_max_connections",
       Apps({{"worker", 10}, {"bot", 5}, {"batch", 10}})},
      {"pgconn_pool_declared_worker_min_connections",
       Apps({{"worker", 2}, {"bot", 1}, {"batch", 0}})},
      {"pgconn_pool_busy_peak_connections",
       Apps({{"worker", 30}, {"bot", 5}, {"batch", 0}})},
      {"quantile_over_time", Apps({{"worker", 8}, {"bot", 2}, {"batch", 0}})},
      {"pgconn_pool_saturated_seconds_total",
       Apps({{"worker", 0}, {"bot", 870}, {"batch", 0}})},
      {"count_over_time",
       Apps({{"worker", 40320}, {"bot", 40320}, {"batch", 40320}})},
  };
}

struct Outcome {
  int code = -1;
  std::string out, err;
};

Outcome RunPlan(std::vector<std::string> args,
                std::vector<FakePrometheus::Rule> rules = Week(),
                std::vector<std::string>* log = nullptr) {
  std::vector<std::string> own;
  if (log == nullptr) log = &own;
  FakeClock clock;
  PlanCommandContext ctx;
  ctx.env = [](std::string_view) { return std::nullopt; };
  ctx.clock = &clock;
  ctx.prometheus =
      [&](const PrometheusOptions& o) -> Result<std::unique_ptr<PromQuerier>> {
    EXPECT_EQ(o.url, "http://prom:9090");
    return std::unique_ptr<PromQuerier>(
        std::make_unique<FakePrometheus>(rules, log));
  };
  std::ostringstream out, err;
  Outcome o;
  o.code = RunPlanCommand(args, ctx, out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

const std::vector<std::string> kBase = {"--from-prometheus=http://prom:9090",
                                        "--end=2025-12-07T14:00:00Z"};

std::vector<std::string> With(std::vector<std::string> more) {
  std::vector<std::string> args = kBase;
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(FromPrometheusTest, JsonHasTheRecommendationsAndTheirEvidence) {
  std::vector<std::string> log;
  const Outcome o = RunPlan(With({"--output=json"}), Week(), &log);
  ASSERT_EQ(o.code, kPlanFits) << o.err;
  const auto doc = nlohmann::json::parse(o.out);
  EXPECT_EQ(doc["source"], "http://prom:9090");
  EXPECT_EQ(doc["start"], "2025-11-30T14:00:00Z");
  EXPECT_EQ(doc["end"], "2025-12-07T14:00:00Z");
  ASSERT_EQ(doc["targets"].size(), 1u);
  const auto& t = doc["targets"][0];
  EXPECT_EQ(t["target"], "main");
  // worker 10 × 4, bot 1 × 7, batch 0 × 10, + 10 + 1 agent = 58 <= 77.
  EXPECT_EQ(t["verdict"], "ok");
  EXPECT_EQ(t["recommended_total_connections"], 58);
  EXPECT_EQ(t["declared_verdict"], "over_limit");  // 10 × 10 + 5 + 11 = 116
  EXPECT_EQ(t["declared_total_connections"], 116);
  EXPECT_EQ(t["usable_connections"], 97);
  // 97 - 61 = 36 connections at 1 an hour.
  EXPECT_DOUBLE_EQ(t["exhaustion_eta_seconds"].get<double>(), 36 * 3600.0);
  EXPECT_EQ(t["exhaustion_time"], "2025-12-09T02:00:00Z");
  EXPECT_EQ(t["evidence_complete"], true);
  const auto& apps = t["applications"];
  ASSERT_EQ(apps.size(), 3u);
  EXPECT_EQ(apps[0]["application"], "batch");
  EXPECT_EQ(apps[0]["state"], "zero_replicas");
  EXPECT_EQ(apps[1]["application"], "bot");
  EXPECT_EQ(apps[1]["saturated"], true);
  EXPECT_EQ(apps[1]["saturated_seconds"], 870);
  EXPECT_EQ(apps[1]["recommended_pool_max"], 7);
  EXPECT_EQ(apps[1]["recommended_pool_min"], 2);
  EXPECT_EQ(apps[2]["application"], "worker");
  EXPECT_EQ(apps[2]["replicas"], 10);
  EXPECT_EQ(apps[2]["pool_max"], 10);
  EXPECT_EQ(apps[2]["pool_min"], 2);
  EXPECT_EQ(apps[2]["busy_peak_connections"], 30);
  EXPECT_EQ(apps[2]["busy_median_connections"], 8);
  EXPECT_EQ(apps[2]["saturated"], false);
  EXPECT_EQ(apps[2]["recommended_pool_max"], 4);
  EXPECT_EQ(apps[2]["recommended_pool_min"], 1);
  EXPECT_TRUE(t["exhaustion_eta_seconds"].is_number());
  // Every number's PromQL: the busy peak over the window less the agent's
  // peak window (7d - 60 s), so no peak from before the window leaks in.
  std::map<std::string, std::string> evidence;
  for (const auto& q : t["evidence"]) evidence[q["quantity"]] = q["promql"];
  EXPECT_EQ(evidence["busy_peak_connections"],
            "max by (application) (max_over_time("
            "pgconn_pool_busy_peak_connections{target=\"main\"}[6d23h59m]))");
  EXPECT_EQ(evidence["busy_median_connections"],
            "max by (application) (quantile_over_time(0.5, "
            "pgconn_pool_busy_connections{target=\"main\"}[7d]))");
  EXPECT_EQ(evidence["saturated_seconds"],
            "max by (application) (increase("
            "pgconn_pool_saturated_seconds_total{target=\"main\"}[7d]))");
  EXPECT_EQ(evidence["used_slope_per_second"],
            "max(deriv(pgconn_used_connections{target=\"main\"}[7d]))");
  EXPECT_EQ(evidence["first_sample"],
            "min(min_over_time(timestamp(pgconn_up{target=\"main\"})"
            "[7d:1m]))");
  // Every query that ran is in the evidence, once.
  EXPECT_EQ(log.size(), t["evidence"].size() + 1);  // + the discovery
}

TEST(FromPrometheusTest, TableShowsEveryNumbersSource) {
  const Outcome o = RunPlan(kBase);
  ASSERT_EQ(o.code, kPlanFits) << o.err;
  for (
      const char* want : {
          "Right-sizing from http://prom:9090\n",
          "  window  7d, 2025-11-30T14:00:00Z to 2025-12-07T14:00:00Z",
          "Target main\n",
          "  verdict                ok             with the recommendations: "
          "58 connections (declared: over_limit, 116)\n",
          "  worker           10       10 -> 4        2 -> 1         30        "
          "8       no\n",
          "  bot              1        5 -> 7         1 -> 2         5         "
          "2       yes, 14m 30s\n",
          "  batch            0        10 (kept)      0 (kept)       0         "
          "0       no\n",
          "bot: the pools were full for 14m 30s of the window",
          "  time to exhaustion     1d 12h",
          "2025-12-09T02:00:00Z",
          "    busy_peak_connections      max by (application) "
          "(max_over_time(pgconn_pool_busy_peak_connections{target=\"main\"}"
          "[6d23h59m]))\n",
      }) {
    EXPECT_NE(o.out.find(want), std::string::npos) << want << "\n" << o.out;
  }
}

TEST(FromPrometheusTest, EnvLinesPerApplication) {
  const Outcome o = RunPlan(With({"--output=env", "--margin=0.5"}));
  ASSERT_EQ(o.code, kPlanFits) << o.err;
  // worker: ceil(3 × 1.5) = 5; bot saturated: max(6, ceil(7.5)) = 8.
  EXPECT_NE(o.out.find("# DB_POOL_MAX 10 -> 5: busy peak 30\n"
                       "# DB_POOL_MIN 2 -> 1: busy median 8\n"
                       "DB_POOL_MIN=1\nDB_POOL_MAX=5\n"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("DB_POOL_MIN=2\nDB_POOL_MAX=8\n"), std::string::npos);
  EXPECT_NE(o.out.find("# 0 replicas: not sized"), std::string::npos);
  EXPECT_NE(o.out.find("margin 50 %"), std::string::npos);
}

TEST(FromPrometheusTest, ExitCodeOneWhenTheRecommendationDoesNotFit) {
  // 40 usable slots, headroom line 32: 58 does not fit.
  const Outcome o = RunPlan(With({"--max-connections=43", "--output=json"}));
  EXPECT_EQ(o.code, kPlanDoesNotFit) << o.err;
  const auto t = nlohmann::json::parse(o.out)["targets"][0];
  EXPECT_EQ(t["verdict"], "over_limit");
  EXPECT_EQ(t["options"]["use_pgbouncer"]["default_pool_size"],
            44);  // 35 × 1.25
}

TEST(FromPrometheusTest, BadInputIsExitCodeTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {With({"--target=nope"}), "--target nope: no declared pools"},
      {With({"--window=30s"}), "not longer than the peak window"},
      {With({"--window=soon"}), "--window=soon: not a positive duration"},
      {With({"--end=yesterday"}), "flag --end: \"yesterday\" is not a time"},
      {With({"--margin=-1"}), "--margin=-1: not a ratio in [0, 10]"},
      {With({"--workers=3"}),
       "--workers does not apply with --from-prometheus"},
      {With({"--env-file=x"}), "--env-file does not apply"},
      {With({"--output=yaml"}), "not one of table, json, env"},
      {{"--pool-max=10", "--output=env"},
       "--output=env needs --from-prometheus"},
      {{"--pool-max=10", "--window=1d"}, "--window needs --from-prometheus"},
      {{"--pool-max=10", "--target=a", "--target=b"}, "more than once"},
  };
  for (const Case& c : cases) {
    const Outcome o = RunPlan(c.args);
    EXPECT_EQ(o.code, kPlanBadInput) << c.want;
    EXPECT_NE(o.err.find(c.want), std::string::npos) << o.err;
  }
  // A Prometheus that knows no target with declared pools.
  const Outcome none = RunPlan(kBase, {});
  EXPECT_EQ(none.code, kPlanBadInput);
  EXPECT_NE(none.err.find("no target with declared pools in http://prom:9090"),
            std::string::npos)
      << none.err;
}

TEST(FromPrometheusTest, LabelValuesAreEscapedInPromQL) {
  std::vector<FakePrometheus::Rule> rules = Week();
  rules[0].samples = {{{{"target", "a\"b\\c"}}, 1}};
  std::vector<std::string> log;
  const Outcome o = RunPlan(With({"--output=json"}), rules, &log);
  ASSERT_EQ(o.code, kPlanFits) << o.err;
  EXPECT_NE(log[1].find("{target=\"a\\\"b\\\\c\"}"), std::string::npos)
      << log[1];
}

// --- the HTTP client --------------------------------------------------------

class LocalServer {
 public:
  explicit LocalServer(
      std::function<void(const httplib::Request&, httplib::Response&)> h) {
    server_.Post("/api/v1/query", h);
    server_.Post("/prefix/api/v1/query", h);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~LocalServer() {
    server_.stop();
    thread_.join();
  }
  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

Result<std::vector<PromSample>> QueryOnce(PrometheusOptions o) {
  auto client = NewPrometheusClient(o);
  if (!client.ok()) return client.status();
  return (*client)->Query("up", kEnd);
}

TEST(PrometheusClientTest, ReadsVectorsAndScalarsWithAuth) {
  // The handler runs on the server's thread: what it saw is handed over under
  // a lock (the socket orders the two threads, but no sanitizer can see that).
  std::mutex mu;
  std::string seen_auth, seen_query, seen_time;
  LocalServer s([&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    seen_auth = req.get_header_value("Authorization");
    seen_query = req.get_param_value("query");
    seen_time = req.get_param_value("time");
    res.set_content(
        R"({"status":"success","data":{"resultType":"vector","result":[)"
        R"({"metric":{"target":"main","application":"w"},"value":[1,"2.5"]},)"
        R"({"metric":{},"value":[1,"NaN"]}]}})",
        "application/json");
  });
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/password") << "s3cret\n";
  PrometheusOptions o;
  o.url = s.Url() + "/prefix/";
  o.basic_auth_user = "alice";
  o.basic_auth_password_file = dir + "/password";
  auto r = QueryOnce(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].labels.at("application"), "w");
  EXPECT_EQ((*r)[0].value, 2.5);
  EXPECT_TRUE(std::isnan((*r)[1].value));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(seen_auth, "Basic YWxpY2U6czNjcmV0");  // alice:s3cret
    EXPECT_EQ(seen_query, "up");
    EXPECT_EQ(seen_time, "1765116000.000");
  }

  std::ofstream(dir + "/token") << "tok-123\n";
  PrometheusOptions b;
  b.url = s.Url();
  b.bearer_token_file = dir + "/token";
  ASSERT_TRUE(QueryOnce(b).ok());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen_auth, "Bearer tok-123");
}

TEST(PrometheusClientTest, ErrorsNameTheUrlAndWhatWasWrongNeverThePassword) {
  std::atomic<int> mode = 0;  // read on the server's thread
  LocalServer s([&](const httplib::Request&, httplib::Response& res) {
    switch (mode.load()) {
      case 0:
        res.status = 400;
        res.set_content(
            R"({"status":"error","errorType":"bad_data","error":"parse error at char 3"})",
            "application/json");
        break;
      case 1:
        res.set_content("<!DOCTYPE html><html>Grafana</html>", "text/html");
        break;
      case 2:
        res.status = 502;
        res.set_content("Bad Gateway", "text/plain");
        break;
      case 3:
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        res.set_content("{}", "application/json");
        break;
      case 4:
        res.set_content(
            R"({"status":"success","data":{"resultType":"matrix","result":[]}})",
            "application/json");
        break;
    }
  });
  const std::string with_password =
      "http://bob:hunter2@127.0.0.1:" + std::to_string(s.port());
  PrometheusOptions o;
  o.url = with_password;
  o.timeout = std::chrono::milliseconds(500);
  const std::string shown =
      "Prometheus API http://bob:***@127.0.0.1:" + std::to_string(s.port());
  const char* want[] = {
      "HTTP 400, bad_data: parse error at char 3",
      "HTTP 200 answered HTML, not JSON",
      "HTTP 502 answered something that is not a JSON object: Bad Gateway",
      "no complete answer within 0.5 s (--query-timeout)",
      "expected an instant vector, got matrix",
  };
  for (mode = 0; mode < 5; ++mode) {
    auto r = QueryOnce(o);
    ASSERT_FALSE(r.ok()) << mode;
    EXPECT_EQ(r.status().message().rfind(shown + ": ", 0), 0u)
        << r.status().message();
    EXPECT_NE(r.status().message().find(want[mode]), std::string::npos)
        << r.status().message();
    EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos);
  }
  // Nobody listens.
  PrometheusOptions closed;
  {
    LocalServer gone([](const httplib::Request&, httplib::Response&) {});
    closed.url = "http://u:pw@127.0.0.1:" + std::to_string(gone.port());
  }
  auto r = QueryOnce(closed);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unreachable"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find(":pw@"), std::string::npos);
}

TEST(PrometheusClientTest, BadOptions) {
  struct Case {
    PrometheusOptions o;
    std::string want;
  };
  auto url = [](std::string u) {
    PrometheusOptions o;
    o.url = std::move(u);
    return o;
  };
  PrometheusOptions half = url("http://x:1");
  half.basic_auth_user = "a";
  PrometheusOptions missing = url("http://x:1");
  missing.bearer_token_file = "/nonexistent/token";
  PrometheusOptions ca = url("http://x:1");
  ca.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  const std::vector<Case> cases = {
      {url("prom:9090"), "not a URL"},
      {url("ftp://x"), "scheme ftp is not http or https"},
      {url("http://:9090"), "no host"},
      {url("http://x:99999"), "port"},
      {url("http://x/api?token=abc"), "a query or fragment is not allowed"},
      {half, "go together"},
      {missing, "--bearer-token-file=/nonexistent/token: cannot be read"},
      {ca, "--tls-ca-file needs an https:// URL"},
  };
  for (const Case& c : cases) {
    auto r = NewPrometheusClient(c.o);
    ASSERT_FALSE(r.ok()) << c.want;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos)
        << r.status().message();
    EXPECT_EQ(r.status().message().find("token=abc"), std::string::npos);
  }
  EXPECT_EQ(RedactUrl("https://a:b@h:1/p?x=y"), "https://a:***@h:1/p?***");
  EXPECT_EQ(RedactUrl("http://h"), "http://h");
  EXPECT_EQ(RedactUrl("nonsense:secret"), "(an invalid URL)");
  EXPECT_EQ(PromQLString("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
}

}  // namespace
}  // namespace pgconn
