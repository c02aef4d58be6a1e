// Counters mirrored from a server's own statistics (pg_stat_database's
// sessions, PgBouncer's SHOW STATS totals) go down when the server's
// statistics restart: a server restart that discards them (a crash, or
// PgBouncer's restart), pg_stat_reset(), a database dropped and created
// again. A counter of ours never goes down, so each such series is
// exported as its server value plus every value it had reached before a
// decrease the agent saw (what rate() would assume), for the life of the
// agent. A decrease that happens and is overtaken between two polls is not
// seen, as by Prometheus.
#ifndef PGCONN_AGENT_EXPOSE_MONOTONIC_COUNTERS_H_
#define PGCONN_AGENT_EXPOSE_MONOTONIC_COUNTERS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "expose/metrics_writer.h"
#include "pgconn/thread_annotations.h"

namespace pgconn {

// One target's; thread-safe (one poller uses it at a time).
class MonotonicCounters {
 public:
  // The counter families whose names start with one of `prefixes` are
  // kept monotonic; at most `max_series` series are remembered (the one
  // unseen for the most polls is forgotten first).
  explicit MonotonicCounters(std::vector<std::string> prefixes,
                             size_t max_series = 10000);

  // Rewrites the values of the matching counters of one poll's samples.
  void Apply(MetricsWriter* w) PGCONN_EXCLUDES(mu_);

  // Decreases seen so far (each one a restart of the server's statistics).
  uint64_t resets() const PGCONN_EXCLUDES(mu_);

 private:
  struct Series {
    double last_raw = 0;
    double offset = 0;
    uint64_t last_poll = 0;
  };
  bool Matches(std::string_view family) const;

  const std::vector<std::string> prefixes_;
  const size_t max_series_;
  mutable Mutex mu_;
  std::unordered_map<std::string, Series> series_ PGCONN_GUARDED_BY(mu_);
  uint64_t poll_ PGCONN_GUARDED_BY(mu_) = 0;
  uint64_t resets_ PGCONN_GUARDED_BY(mu_) = 0;
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_EXPOSE_MONOTONIC_COUNTERS_H_
