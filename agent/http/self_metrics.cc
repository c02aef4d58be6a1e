#include "http/self_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>
#include <vector>

#include "expose/exposition_part.h"
#include "expose/metrics_writer.h"

namespace pgconn {
namespace {

std::string ReadSmallFile(const char* path) {
  std::ifstream in(path);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

// Entries of /proc/self/fd, without ".", ".." and the directory's own fd.
std::optional<double> CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  double n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;
}

}  // namespace

double BootTimeSeconds() {
  const std::string stat = ReadSmallFile("/proc/stat");
  const auto at = stat.find("\nbtime ");
  if (at == std::string::npos) return 0;
  return std::strtod(stat.c_str() + at + 7, nullptr);
}

std::optional<ProcessStats> ReadProcessStats(double boot_time_seconds) {
  const std::string stat = ReadSmallFile("/proc/self/stat");
  // The command name, field 2, is in parentheses and may hold spaces; the
  // fields after its closing parenthesis are numbers.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest(stat);
  rest.remove_prefix(close + 1);
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const auto end = rest.find(' ');
    fields.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  // fields[0] is field 3 (state): field N is fields[N - 3].
  if (fields.size() < 22) return std::nullopt;
  auto num = [&](int field) {
    return std::strtod(std::string(fields[field - 3]).c_str(), nullptr);
  };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  ProcessStats p;
  p.cpu_seconds = (num(14) + num(15)) / ticks;
  p.start_time_seconds = boot_time_seconds + num(22) / ticks;
  p.virtual_bytes = num(23);
  p.resident_bytes = num(24) * page;
  if (auto fds = CountOpenFds()) p.open_fds = *fds;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    p.max_fds =
        lim.rlim_cur == RLIM_INFINITY ? 0 : static_cast<double>(lim.rlim_cur);
  }
  return p;
}

std::string SelfMetricsText(const std::optional<ProcessStats>& process,
                            const HttpStats& http) {
  MetricsWriter w;
  if (process) {
    w.Counter("process_cpu_seconds_total",
              "User and system CPU time of the agent process, in seconds "
              "(/proc/self/stat).",
              {}, process->cpu_seconds);
    w.Gauge("process_resident_memory_bytes",
            "Resident memory of the agent process (/proc/self/stat).", {},
            process->resident_bytes);
    w.Gauge("process_virtual_memory_bytes",
            "Virtual memory of the agent process (/proc/self/stat).", {},
            process->virtual_bytes);
    w.Gauge("process_open_fds",
            "File descriptors the agent process has open (/proc/self/fd).", {},
            process->open_fds);
    w.Gauge("process_max_fds",
            "The agent process's limit of open file descriptors "
            "(RLIMIT_NOFILE).",
            {}, process->max_fds);
    w.Gauge("process_start_time_seconds",
            "When the agent process started, in seconds since the Unix "
            "epoch.",
            {}, process->start_time_seconds);
  }
  for (const auto& [key, count] : http.requests) {
    w.Counter("pgconn_http_requests_total",
              "HTTP requests the agent answered, by handler and status "
              "code.",
              {{"handler", key.first}, {"code", std::to_string(key.second)}},
              static_cast<double>(count));
  }
  w.Gauge("pgconn_http_open_connections",
          "HTTP connections open to the agent now.", {},
          static_cast<double>(http.open_connections));
  auto part = std::make_shared<const ExpositionPart>(w.TakePart());
  return AssembleText({part});
}

}  // namespace pgconn
