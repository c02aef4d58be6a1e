// The agent's own metrics, read at scrape time: the standard process_*
// family from /proc/self and the HTTP server's counters. Everything else a
// scrape returns comes from the published snapshot.
#ifndef PGCONN_AGENT_HTTP_SELF_METRICS_H_
#define PGCONN_AGENT_HTTP_SELF_METRICS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace pgconn {

struct ProcessStats {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

// Reads /proc/self/stat, /proc/self/fd and RLIMIT_NOFILE (a few system
// calls); nullopt if /proc cannot be read. `boot_time_seconds` is
// /proc/stat's btime (BootTimeSeconds()).
std::optional<ProcessStats> ReadProcessStats(double boot_time_seconds);
double BootTimeSeconds();

// Counters of the HTTP server. Not thread-safe: the server's I/O thread
// owns it.
struct HttpStats {
  // (handler, status code) -> requests answered.
  std::map<std::pair<std::string, int>, uint64_t> requests;
  int64_t open_connections = 0;
};

// The text exposition of both; without process stats, only the HTTP ones.
std::string SelfMetricsText(const std::optional<ProcessStats>& process,
                            const HttpStats& http);

}  // namespace pgconn

#endif  // PGCONN_AGENT_HTTP_SELF_METRICS_H_
