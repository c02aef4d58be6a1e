// Wiring only: flags, configuration, threads, signals, exit codes.
#include <csignal>
#include <iostream>
#include <thread>

#include "pgconn/agent.h"
#include "pgconn/clock.h"
#include "pgconn/config.h"
#include "pgconn/http_server.h"
#include "pgconn/log.h"
#include "pgconn/plan_command.h"
#include "pgconn/session.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadConfig = 2;

int RunAgent(const std::vector<std::string>& args) {
  auto flags = pgconn::ParseFlags(args);
  if (!flags.ok()) {
    std::cerr << "pgconn-agent: " << flags.status().message() << "\n";
    return kExitBadConfig;
  }
  if (flags->help) {
    std::cout << pgconn::FlagsHelp("pgconn-agent") << "\n"
              << pgconn::CollectorFlagsHelp();
    return kExitOk;
  }
  if (flags->version) {
    std::cout << pgconn::VersionLine() << "\n";
    return kExitOk;
  }
  auto config = pgconn::LoadConfig(*flags, pgconn::ProcessEnvironment());
  if (!config.ok()) {
    std::cerr << "pgconn-agent: " << config.status().message() << "\n";
    return kExitBadConfig;
  }
  if (auto s = pgconn::ValidateCollectorSwitches(*config); !s.ok()) {
    std::cerr << "pgconn-agent: " << s.message() << "\n";
    return kExitBadConfig;
  }
  if (auto s = pgconn::ValidateServerLogs(*config); !s.ok()) {
    std::cerr << "pgconn-agent: " << s.message() << "\n";
    return kExitBadConfig;
  }
  pgconn::SystemClock clock;
  pgconn::Logger logger(&std::cerr, config->log_level, config->log_format,
                        &clock);
  for (const auto& n : config->notices)
    logger.Info("config notice", {{"notice", n}});

  pgconn::PgSessionFactory sessions;
  pgconn::Agent agent(*config, sessions, clock, logger);

  if (flags->once) {
    const bool all_up = agent.PollAllOnce();
    std::cout << agent.publisher().Current()->text();
    return all_up ? kExitOk : kExitFailure;
  }

  // Signals are taken synchronously by this thread; every thread started
  // below inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto address = pgconn::ParseListenAddress(config->listen_address);
  if (!address.ok()) {
    std::cerr << "pgconn-agent: --web.listen-address: "
              << address.status().message() << "\n";
    return kExitBadConfig;
  }
  pgconn::HttpServer http(agent.publisher(), logger);
  if (auto s = http.Bind(*address); !s.ok()) {
    logger.Error("cannot listen",
                 {{"address", config->listen_address}, {"err", s.message()}});
    return kExitFailure;
  }
  agent.LogTargets(logger);
  agent.Start();
  logger.Info("listening",
              {{"address", address->host + ":" + std::to_string(http.port())}});
  pgconn::Status serve_status;
  std::thread http_thread([&] { serve_status = http.Serve(); });

  int sig = 0;
  sigwait(&signals, &sig);
  logger.Info("shutting down",
              {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  http.Stop();
  http_thread.join();
  agent.Stop();
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "plan") {
    pgconn::SystemClock clock;
    pgconn::PgSessionFactory sessions;
    const pgconn::PlanCommandContext context{pgconn::ProcessEnvironment(),
                                             &sessions, &clock};
    return pgconn::RunPlanCommand({args.begin() + 1, args.end()}, context,
                                  std::cout, std::cerr);
  }
  return RunAgent(args);
}
