// Configuration: flags, the YAML file and the environment, merged and
// validated once at start-up. Every error names the flag, the environment
// variable, or the file:line:column it came from, and never a secret.
#ifndef PGCONN_CONFIG_H_
#define PGCONN_CONFIG_H_

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/log.h"
#include "pgconn/status.h"

namespace pgconn {

using Duration = std::chrono::milliseconds;

// A value that must never be printed. It has no stream operator on purpose.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

enum class TargetKind { kPostgres, kPgBouncer };

// A target's `server_log:`, the PostgreSQL log file the agent follows to
// count refused and terminated connections (docs/configuration.md).
enum class ServerLogFormat { kStderr, kCsvlog, kJsonlog };
// Debian's default log_line_prefix.
inline constexpr std::string_view kDefaultLogLinePrefix = "%m [%p] %q%u@%d ";
struct ServerLogConfig {
  std::string path;
  ServerLogFormat format = ServerLogFormat::kStderr;
  std::string log_line_prefix{kDefaultLogLinePrefix};  // stderr only
  std::string origin;                                  // "file:line:column"
};

// One collector turned on or off by the operator, and where.
struct CollectorSwitch {
  bool enabled = true;
  std::string origin;  // "flag --no-collector.backends" or "file:line:col"
};
// By collector name. Names are checked against the collector registry at
// start-up (runtime: ValidateCollectorSwitches), which config cannot see.
using CollectorSwitches = std::map<std::string, CollectorSwitch, std::less<>>;
std::string_view TargetKindName(TargetKind kind);

// The most that a pool size (pool_min, pool_max, DB_POOL_MIN, DB_POOL_MAX,
// the planner's --pool-max) and a count of replicas (--workers) may be,
// wherever they are read.
inline constexpr int kMaxPoolSize = 100'000;
inline constexpr int kMaxReplicas = 100'000;

// The longest each duration may be (docs/configuration.md): far beyond any
// sensible setting, short enough that no deadline arithmetic can overflow.
// query_timeout becomes statement_timeout, whose limit is INT_MAX ms.
inline constexpr Duration kMaxPollInterval{24LL * 3600 * 1000};  // 24h
inline constexpr Duration kMaxConnectTimeout{10LL * 60 * 1000};  // 10m
inline constexpr Duration kMaxQueryTimeout{24LL * 3600 * 1000};  // 24h
inline constexpr Duration kMaxBackoff{24LL * 3600 * 1000};       // 24h
// The peaks keep one value per poll and series at worst: an hour bounds it.
inline constexpr Duration kMaxPeakWindow{3600LL * 1000};  // 1h
// Input size limits: the configuration file, its targets, any one value.
inline constexpr size_t kMaxConfigFileBytes = 4 * 1024 * 1024;
inline constexpr size_t kMaxTargets = 1000;
inline constexpr size_t kMaxScalarBytes = 8192;

// One application's connection pool as the operator declares it: the
// guide's DB_POOL_MIN / DB_POOL_MAX per worker process, times replicas.
struct PoolDeclaration {
  std::string application;  // matched against pg_stat_activity.application_name
  int replicas = 1;
  int pool_min = 0;
  int pool_max = 0;
  std::string origin;  // "file:line:column"
};

struct TargetConfig {
  std::string name;  // the `target` label
  TargetKind kind = TargetKind::kPostgres;

  // Either a postgresql:// URL or individual fields; empty fields fall back
  // to libpq's own environment variables and defaults (PGHOST, ~/.pgpass...).
  Secret url;  // may embed a password
  std::string host;
  std::string port;
  std::string user;
  std::string dbname;
  std::string sslmode;
  std::string sslrootcert;
  Secret password;
  std::string password_file;  // read at every connect, so rotation works

  // Declared pools (see docs/configuration.md) and the allowance for
  // everything that is not a declared pool (bot, interface, migrations).
  std::vector<PoolDeclaration> pools;
  std::optional<int> overhead;
  // This target's `collectors:`, over the agent's.
  CollectorSwitches collectors;
  // The server's log file, if the agent should follow it (PostgreSQL only).
  std::optional<ServerLogConfig> server_log;
  // This target's `peak_window:`, over the agent's.
  std::optional<Duration> peak_window;

  std::string origin;  // where it was defined, for error messages
};

// near_limit_threshold, which the planner calls the headroom: a share of
// the usable connections, in (0, 1].
inline constexpr bool IsHeadroomRatio(double ratio) {
  return ratio > 0 && ratio <= 1;
}

struct Config {
  std::vector<TargetConfig> targets;

  Duration poll_interval{5000};
  Duration connect_timeout{5000};
  Duration query_timeout{5000};  // statement_timeout and the client deadline
  Duration backoff_max{30000};   // cap of the reconnect backoff

  double near_limit_threshold = 0.8;  // the guide's 80 % headroom rule
  int max_applications = 50;
  int max_users = 100;
  int max_databases = 100;
  // How far back the *_peak gauges look (`peak_window:`).
  Duration peak_window{60000};
  // The file's top-level `collectors:`, then the --[no-]collector.NAME
  // flags over them; a target's own `collectors:` come last.
  CollectorSwitches collectors;

  std::string listen_address = ":9188";
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kLogfmt;

  // Things worth telling the operator that are not errors (for example the
  // DB_* variables ignored because DATABASE_URL is set). main() logs them.
  std::vector<std::string> notices;
};

// The HTTP server's --web.* flags (besides --web.listen-address); unset
// ones keep the server's defaults (HttpServerOptions).
struct WebFlags {
  std::optional<std::string> config_file;     // --web.config.file
  std::optional<std::string> telemetry_path;  // --web.telemetry-path
  std::optional<int64_t> max_connections;     // --web.max-connections
  std::optional<int64_t> max_header_bytes;    // --web.max-header-bytes
  std::optional<int64_t> max_header_count;    // --web.max-header-count
  std::optional<Duration> header_timeout;     // --web.header-timeout
  std::optional<Duration> idle_timeout;       // --web.idle-timeout
  bool enable_lifecycle = false;              // --web.enable-lifecycle
};

// Command-line flags, Prometheus style (--name=value or --name value).
struct Flags {
  std::optional<std::string> config_file;
  std::optional<std::string> listen_address;
  std::optional<Duration> poll_interval;
  std::optional<LogLevel> log_level;
  std::optional<LogFormat> log_format;
  CollectorSwitches collectors;  // --collector.NAME / --no-collector.NAME
  bool once = false;
  bool version = false;
  bool help = false;
  // --health-check[=URL]: "" for the agent the flags describe.
  std::optional<std::string> health_check;
  // Every --web.listen-address, in order (the flag repeats); the last one
  // is also in listen_address.
  std::vector<std::string> listen_addresses;
  WebFlags web;
};

Result<Flags> ParseFlags(const std::vector<std::string>& args);
std::string FlagsHelp(std::string_view program);

// Looks up an environment variable; injected so tests need not touch the
// process environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup ProcessEnvironment();

// Parses a Prometheus-style duration ("250ms", "5s", "1m30s", "2h"); a bare
// number means seconds.
Result<Duration> ParseDuration(std::string_view text);

// Parses the YAML configuration text; `filename` is used in messages only.
Result<Config> ParseConfigYaml(std::string_view text,
                               std::string_view filename);

// Builds the target the environment describes (DATABASE_URL or DB_*), or
// libpq's defaults when neither is set. `notices` receives what was ignored.
Result<TargetConfig> TargetFromEnvironment(const EnvLookup& env,
                                           std::vector<std::string>* notices);

// The whole start-up sequence: the file (if any), then the environment when
// the file defines no target, then flags on top; finally validation.
Result<Config> LoadConfig(const Flags& flags, const EnvLookup& env);

// Host and port to bind from "--web.listen-address" (":9188",
// "127.0.0.1:9188", "[::1]:9188").
struct ListenAddress {
  std::string host;
  int port = 0;
};
Result<ListenAddress> ParseListenAddress(std::string_view text);

// Reads a password file: the first line, without its line ending.
Result<Secret> ReadPasswordFile(const std::string& path);

}  // namespace pgconn

#endif  // PGCONN_CONFIG_H_
