// Wiring only: flags, configuration, threads, signals, exit codes.
#include <malloc.h>

#include <atomic>
#include <csignal>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include "pgconn/agent.h"
#include "pgconn/clock.h"
#include "pgconn/config.h"
#include "pgconn/flag_env.h"
#include "pgconn/health_probe.h"
#include "pgconn/http_server.h"
#include "pgconn/log.h"
#include "pgconn/plan_command.h"
#include "pgconn/session.h"
#include "pgconn/thread_guard.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadConfig = 2;

// --health-check[=URL]: GET /healthz of the agent that the same flags and
// environment describe (127.0.0.1 and the --web.listen-address port), for a
// container HEALTHCHECK without curl. Exit 0 on 200, 1 otherwise.
int RunHealthCheck(const std::string& given_url, const pgconn::Flags& flags) {
  std::string url = given_url;
  if (url.empty()) {
    auto address =
        pgconn::ParseListenAddress(flags.listen_address.value_or(":9188"));
    if (!address.ok()) {
      std::cerr << "pgconn-agent: --web.listen-address: "
                << address.status().message() << "\n";
      return kExitBadConfig;
    }
    std::string host = address->host;
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    url = "http://" + host + ":" + std::to_string(address->port) + "/healthz";
  }
  auto parsed = pgconn::ParseHttpUrl(url);
  if (!parsed.ok()) {
    std::cerr << "pgconn-agent: --health-check: " << parsed.status().message()
              << "\n";
    return kExitBadConfig;
  }
  auto code = pgconn::HttpGetStatus(*parsed, std::chrono::seconds(5));
  if (!code.ok()) {
    std::cerr << "pgconn-agent: health check " << url << ": "
              << code.status().message() << "\n";
    return kExitFailure;
  }
  if (*code != 200) {
    std::cerr << "pgconn-agent: health check " << url << ": HTTP " << *code
              << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

// A bad configuration's message on stderr: exit code 2.
int BadConfig(std::string_view message) {
  std::cerr << "pgconn-agent: " << message << "\n";
  return kExitBadConfig;
}

// The configuration the flags and the environment describe, checked as a
// whole; the environment's notices go first among its notices.
pgconn::Result<pgconn::Config> CheckedConfig(
    const pgconn::Flags& flags, const std::vector<std::string>& env_notices) {
  auto config = pgconn::LoadConfig(flags, pgconn::ProcessEnvironment());
  if (!config.ok()) return config.status();
  if (auto s = pgconn::ValidateCollectorSwitches(*config); !s.ok()) return s;
  if (auto s = pgconn::ValidateServerLogs(*config); !s.ok()) return s;
  config->notices.insert(config->notices.begin(), env_notices.begin(),
                         env_notices.end());
  return config;
}

// The HTTP server's options from the --web.* flags.
pgconn::HttpServerOptions WebOptions(const pgconn::WebFlags& wf) {
  pgconn::HttpServerOptions web;
  if (wf.config_file) web.web_config_file = *wf.config_file;
  if (wf.telemetry_path) web.telemetry_path = *wf.telemetry_path;
  if (wf.max_connections) web.max_connections = *wf.max_connections;
  if (wf.max_header_bytes) web.max_header_bytes = *wf.max_header_bytes;
  if (wf.max_header_count) web.max_header_count = *wf.max_header_count;
  if (wf.header_timeout) web.header_timeout = *wf.header_timeout;
  if (wf.idle_timeout) web.idle_timeout = *wf.idle_timeout;
  return web;
}

// Every --web.listen-address (without one, the configuration's) bound, or
// the exit code of the first that cannot be.
int BindListeners(const pgconn::Flags& flags, const pgconn::Config& config,
                  const pgconn::Logger& logger, pgconn::HttpServer* http) {
  std::vector<std::string> listen = flags.listen_addresses;
  if (listen.empty()) listen.push_back(config.listen_address);
  for (const std::string& text : listen) {
    auto address = pgconn::ParseListenAddress(text);
    if (!address.ok()) {
      // Piece by piece: GCC 12 Release, -Wrestrict (docs/contributing.md).
      std::string message = "--web.listen-address: ";
      message += address.status().message();
      return BadConfig(message);
    }
    if (auto s = http->Bind(*address); !s.ok()) {
      logger.Error("cannot listen", {{"address", text}, {"err", s.message()}});
      return kExitFailure;
    }
  }
  return kExitOk;
}

// Serves until SIGINT or SIGTERM, reloading on each SIGHUP, then stops the
// HTTP server and the pollers in that order. `signals` is blocked in every
// thread (the caller blocked it before any was started).
int ServeUntilSignalled(const sigset_t& signals, pgconn::Agent& agent,
                        pgconn::HttpServer& http, const pgconn::Logger& logger,
                        const pgconn::ThreadFailureHandler& on_thread_failure,
                        const std::function<pgconn::Status()>& reload) {
  agent.LogTargets(logger);
  agent.Start();
  for (const std::string& a : http.BoundAddresses()) {
    logger.Info("listening", {{"address", a}});
  }
  // The HTTP loop ends only when the signal thread stops it: any other end
  // (an error, an exception, a normal return) is fatal, since a process
  // that polls but serves nothing is never restarted by its supervisor.
  std::atomic<bool> stopping{false};
  std::thread http_thread([&] {
    pgconn::Status serve_status;
    if (pgconn::RunGuarded("http", on_thread_failure,
                           [&] { serve_status = http.Serve(); }) &&
        !stopping.load()) {
      on_thread_failure("http", serve_status.ok()
                                    ? "the HTTP server loop returned"
                                    : serve_status.message());
    }
  });

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    logger.Info("reloading configuration", {{"signal", "SIGHUP"}});
    (void)reload();
  }
  logger.Info("shutting down",
              {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  // Stops accepting, closes idle connections, lets in-flight responses
  // finish (at most HttpServerOptions::shutdown_grace), then the pollers.
  stopping.store(true);
  http.Stop();
  http_thread.join();
  agent.Stop();
  return kExitOk;
}

int RunAgent(const std::vector<std::string>& args) {
  // PGCONN_<FLAG> variables, for every flag the settings table gives one.
  std::vector<std::string> env_notices;
  auto with_env = pgconn::ApplyFlagEnvironment(
      args, pgconn::ProcessEnvironment(), pgconn::EnvironmentFlagNames(),
      &env_notices);
  if (!with_env.ok()) return BadConfig(with_env.status().message());
  auto flags = pgconn::ParseFlags(*with_env);
  if (!flags.ok()) return BadConfig(flags.status().message());
  if (flags->health_check) return RunHealthCheck(*flags->health_check, *flags);
  if (flags->help) {
    std::cout << pgconn::FlagsHelp("pgconn-agent") << "\n"
              << pgconn::CollectorFlagsHelp();
    return kExitOk;
  }
  if (flags->version) {
    std::cout << pgconn::VersionLine() << "\n";
    return kExitOk;
  }
  auto config = CheckedConfig(*flags, env_notices);
  if (!config.ok()) return BadConfig(config.status().message());
  pgconn::SystemClock clock;
  pgconn::Logger logger(&std::cerr, config->log_level, config->log_format,
                        &clock);
  for (const auto& n : config->notices)
    logger.Info("config notice", {{"notice", n}});

  pgconn::PgSessionFactory sessions;
  // Any thread that ends unexpectedly: one log line, exit status 1.
  const pgconn::ThreadFailureHandler on_thread_failure =
      pgconn::ExitOnThreadFailure(logger);
  pgconn::Agent agent(*config, sessions, clock, logger, on_thread_failure);

  if (flags->once) {
    const bool all_up = agent.PollAllOnce();
    std::cout << agent.publisher().Current()->text();
    return all_up ? kExitOk : kExitFailure;
  }

  // Signals are taken synchronously by ServeUntilSignalled; every thread
  // started from here on inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // reload (systemctl reload sends it)
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  pgconn::HttpServerOptions web = WebOptions(flags->web);
  // Re-reads the configuration as at start-up and applies it; an invalid one
  // is refused and the running one kept. Safe from any thread (Agent is).
  const std::function<pgconn::Status()> reload = [&]() -> pgconn::Status {
    auto next = pgconn::LoadConfig(*flags, pgconn::ProcessEnvironment());
    if (!next.ok()) {
      agent.ReloadFailed(next.status());
      return next.status();
    }
    return agent.Reload(*next);
  };
  // POST /-/reload (--web.enable-lifecycle), as Prometheus has it: the same
  // reload as SIGHUP, from the HTTP thread.
  if (flags->web.enable_lifecycle) web.reload = reload;
  pgconn::HttpServer http(agent.publisher(), logger, web);
  if (auto s = http.LoadWebConfig(); !s.ok()) return BadConfig(s.message());
  if (int code = BindListeners(*flags, *config, logger, &http); code != 0) {
    return code;
  }
  return ServeUntilSignalled(signals, agent, http, logger, on_thread_failure,
                             reload);
}

}  // namespace

int main(int argc, char** argv) {
  // Blocks of 1 MiB and up (a fleet's assembled exposition and its gzip
  // buffers, built on whichever poll worker runs Publisher::Refresh) are
  // mapped and unmapped, never kept in a thread's malloc arena: glibc's
  // default raises this threshold to the largest block freed, and then
  // every arena a worker used would keep its own copy of those megabytes.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // Fixing that threshold also fixes the trim threshold at its 128 KiB
  // default (glibc keeps it at twice a dynamic one): a poll frees more
  // than that, and each worker's arena was given back to the kernel
  // (madvise) and faulted in again at every poll, a TLB flush on every
  // core each time: 12 % of the agent's CPU in a 500-target run (perf).
  // Twice the mmap threshold, as glibc's own rule would have it.
  mallopt(M_TRIM_THRESHOLD, 2 << 20);
  // Two malloc arenas, whatever the number of threads: glibc's default is
  // one per thread up to 8 per core, and each keeps its own free chunks
  // and up to the trim threshold of top. At 500 targets (16 threads) that
  // was 23 MiB of the agent's 83 MiB private memory (bench/fleet.sh: 60
  // MiB with two; CPU per target-poll within the spread between runs).
  mallopt(M_ARENA_MAX, 2);
  std::vector<std::string> args(argv + 1, argv + argc);
  // The main thread's barrier: nothing should throw this far, but if it
  // does, say so in one line and exit 1 rather than abort.
  try {
    if (!args.empty() && args[0] == "plan") {
      pgconn::SystemClock clock;
      pgconn::PgSessionFactory sessions;
      // A null `prometheus`: --from-prometheus uses the HTTP client.
      const pgconn::PlanCommandContext context{pgconn::ProcessEnvironment(),
                                               &sessions, &clock, nullptr};
      return pgconn::RunPlanCommand({args.begin() + 1, args.end()}, context,
                                    std::cout, std::cerr);
    }
    return RunAgent(args);
  } catch (const std::exception& e) {
    std::cerr << "pgconn-agent: fatal: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "pgconn-agent: fatal: unknown exception\n";
  }
  return kExitFailure;
}
