#include "plan/planner.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <sstream>

#include "pgconn/config.h"
#include "util/numbers.h"

namespace pgconn {
namespace {

constexpr int64_t kMaxWorkers = kMaxReplicas;
constexpr int64_t kMaxPool = kMaxPoolSize;
constexpr int64_t kMaxOverhead = 1'000'000;
constexpr int64_t kMaxMonitoringAgents = 1000;
constexpr int64_t kMaxClientConn = 10'000'000;
constexpr int64_t kMaxMemoryPerConnection = 1LL << 40;  // 1 TB
constexpr size_t kMaxScaleRows = 1000;

double Ratio(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole)
                   : 0.0;
}

Status OutOfRange(std::string_view flag, int64_t value, int64_t min,
                  int64_t max) {
  return Status::InvalidArgument(
      std::string(flag) + " " + std::to_string(value) + " is outside [" +
      std::to_string(min) + ", " + std::to_string(max) + "]");
}

// The largest pool max for which workers × pool_max + overhead fits under
// the headroom line.
std::optional<int64_t> LargestPoolMax(int64_t workers, int64_t overhead,
                                      int64_t headroom_connections) {
  const int64_t room = headroom_connections - overhead;
  if (workers <= 0 || room < workers) return std::nullopt;
  return room / workers;
}

Result<int64_t> ParseCount(std::string_view text, std::string_view spec) {
  auto v = ParseInt64InRange(text, 1, kMaxWorkers);
  if (!v.ok()) {
    return Status::InvalidArgument("--scale-table " + std::string(spec) +
                                   ": worker count " + v.status().message());
  }
  return v;
}

}  // namespace

int64_t ServerMemoryBytes(int64_t connections, int64_t per_connection) {
  return SaturatingMul(std::max<int64_t>(connections, 0), per_connection);
}

Status ValidatePlanInput(const PlanInput& in) {
  // Long: one check per input, in the order of the flags; read best whole.
  if (in.workers < 1 || in.workers > kMaxWorkers) {
    return OutOfRange("--workers", in.workers, 1, kMaxWorkers);
  }
  if (in.pool_max < 1 || in.pool_max > kMaxPool) {
    return OutOfRange("--pool-max", in.pool_max, 1, kMaxPool);
  }
  if (in.pool_min < 0 || in.pool_min > kMaxPool) {
    return OutOfRange("--pool-min", in.pool_min, 0, kMaxPool);
  }
  if (in.pool_min > in.pool_max) {
    return Status::InvalidArgument("--pool-min " + std::to_string(in.pool_min) +
                                   " is larger than --pool-max " +
                                   std::to_string(in.pool_max) +
                                   " (the pool would refuse to start)");
  }
  if (in.overhead < 0 || in.overhead > kMaxOverhead) {
    return OutOfRange("--overhead", in.overhead, 0, kMaxOverhead);
  }
  if (in.monitoring_agents < 0 || in.monitoring_agents > kMaxMonitoringAgents) {
    return OutOfRange("--monitoring-agents", in.monitoring_agents, 0,
                      kMaxMonitoringAgents);
  }
  if (in.max_connections < 1 ||
      in.max_connections > kPostgresMaxConnectionsLimit) {
    return OutOfRange("--max-connections", in.max_connections, 1,
                      kPostgresMaxConnectionsLimit);
  }
  if (in.reserved < 0 || in.reserved >= in.max_connections) {
    return Status::InvalidArgument(
        "--reserved " + std::to_string(in.reserved) +
        " must be at least 0 and less than max_connections " +
        std::to_string(in.max_connections) +
        " (PostgreSQL refuses to start otherwise)");
  }
  if (!IsHeadroomRatio(in.headroom)) {
    std::ostringstream value;
    value << in.headroom;
    return Status::InvalidArgument("--headroom " + value.str() +
                                   " is outside (0, 1]");
  }
  if (in.memory_per_connection_bytes < 1 ||
      in.memory_per_connection_bytes > kMaxMemoryPerConnection) {
    return Status::InvalidArgument(
        "--memory-per-connection must be between 1B and 1TB");
  }
  if (in.pgbouncer_pool_size < 1 || in.pgbouncer_pool_size > kMaxPool) {
    return OutOfRange("--pgbouncer-pool-size", in.pgbouncer_pool_size, 1,
                      kMaxPool);
  }
  if (in.pgbouncer_pool_max &&
      (*in.pgbouncer_pool_max < 1 || *in.pgbouncer_pool_max > kMaxPool)) {
    return OutOfRange("--pgbouncer-pool-max", *in.pgbouncer_pool_max, 1,
                      kMaxPool);
  }
  if (in.pgbouncer_max_client_conn < 1 ||
      in.pgbouncer_max_client_conn > kMaxClientConn) {
    return OutOfRange("--pgbouncer-max-client-conn",
                      in.pgbouncer_max_client_conn, 1, kMaxClientConn);
  }
  return Status::Ok();
}

Result<Plan> MakePlan(const PlanInput& in) {
  if (Status s = ValidatePlanInput(in); !s.ok()) return s;
  Plan p;
  p.input = in;
  p.worker_connections = in.workers * in.pool_max;
  p.min_connections = in.workers * in.pool_min;
  // The agents' sessions are ordinary client backends: they count with the
  // overhead wherever it counts.
  p.fixed_connections = in.overhead + in.monitoring_agents;
  const int64_t fixed = p.fixed_connections;
  p.total_connections = p.worker_connections + fixed;
  p.usable_connections = in.max_connections - in.reserved;
  p.headroom_connections =
      HeadroomConnections(p.usable_connections, in.headroom);
  p.utilization_ratio = Ratio(p.total_connections, p.usable_connections);
  p.verdict =
      ClassifyTotal(p.total_connections, p.usable_connections, in.headroom);

  ReducePoolMaxOption& reduce = p.reduce_pool_max;
  reduce.pool_max = LargestPoolMax(in.workers, fixed, p.headroom_connections);
  if (reduce.pool_max) {
    reduce.total_connections = in.workers * *reduce.pool_max + fixed;
    reduce.utilization_ratio =
        Ratio(reduce.total_connections, p.usable_connections);
  }

  // total <= floor(ppm × usable / 10^6) holds exactly when
  // usable >= ceil(total × 10^6 / ppm).
  RaiseMaxConnectionsOption& raise = p.raise_max_connections;
  const int64_t ppm = HeadroomPpm(in.headroom);
  const int64_t usable_needed =
      (SaturatingMul(p.total_connections, kPpm) + ppm - 1) / ppm;
  raise.max_connections = usable_needed + in.reserved;
  raise.additional_connections =
      std::max<int64_t>(raise.max_connections - in.max_connections, 0);
  raise.additional_memory_bytes = ServerMemoryBytes(
      raise.additional_connections, in.memory_per_connection_bytes);
  raise.total_memory_bytes =
      ServerMemoryBytes(raise.max_connections, in.memory_per_connection_bytes);
  raise.beyond_postgres_limit =
      raise.max_connections > kPostgresMaxConnectionsLimit;

  // PgBouncer opens server connections on demand, so never more than its
  // clients can use at once; bot, interface, migrations and the monitoring
  // agents stay direct.
  PgBouncerOption& bouncer = p.use_pgbouncer;
  bouncer.pool_size = in.pgbouncer_pool_size;
  bouncer.client_pool_max = in.pgbouncer_pool_max.value_or(in.pool_max);
  bouncer.logical_connections = in.workers * bouncer.client_pool_max;
  bouncer.server_connections =
      std::min(bouncer.pool_size, bouncer.logical_connections) + fixed;
  bouncer.utilization_ratio =
      Ratio(bouncer.server_connections, p.usable_connections);
  bouncer.verdict = ClassifyTotal(bouncer.server_connections,
                                  p.usable_connections, in.headroom);
  bouncer.max_client_conn = in.pgbouncer_max_client_conn;
  bouncer.logical_fit = bouncer.logical_connections <= bouncer.max_client_conn;
  bouncer.recommended = in.workers >= kGuidePgBouncerFromWorkers;
  return p;
}

Result<std::vector<ScaleRow>> MakeScaleTable(
    const PlanInput& base, const std::vector<int64_t>& worker_counts) {
  std::vector<ScaleRow> rows;
  for (int64_t workers : worker_counts) {
    PlanInput in = base;
    in.workers = workers;
    auto plan = MakePlan(in);
    if (!plan.ok()) return plan.status();
    ScaleRow row;
    row.workers = workers;
    row.total_connections = plan->total_connections;
    row.utilization_ratio = plan->utilization_ratio;
    row.verdict = plan->verdict;
    row.largest_pool_max = plan->reduce_pool_max.pool_max;
    rows.push_back(row);
  }
  return rows;
}

Result<std::vector<int64_t>> ParseWorkerCounts(std::string_view spec) {
  std::set<int64_t> counts;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string_view item = spec.substr(start, comma - start);
    const size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      auto n = ParseCount(item, spec);
      if (!n.ok()) return n.status();
      counts.insert(*n);
    } else {
      auto from = ParseCount(item.substr(0, dash), spec);
      if (!from.ok()) return from.status();
      auto to = ParseCount(item.substr(dash + 1), spec);
      if (!to.ok()) return to.status();
      if (*from > *to) {
        return Status::InvalidArgument("--scale-table " + std::string(spec) +
                                       ": range " + std::string(item) +
                                       " goes downwards");
      }
      if (*to - *from >= static_cast<int64_t>(kMaxScaleRows)) {
        return Status::InvalidArgument("--scale-table " + std::string(spec) +
                                       ": more than 1000 rows");
      }
      for (int64_t w = *from; w <= *to; ++w) counts.insert(w);
    }
    if (counts.size() > kMaxScaleRows) {
      return Status::InvalidArgument("--scale-table " + std::string(spec) +
                                     ": more than 1000 rows");
    }
    start = comma + 1;
  }
  return std::vector<int64_t>(counts.begin(), counts.end());
}

Result<int64_t> ParseMemorySize(std::string_view text) {
  size_t i = 0;
  while (
      i < text.size() &&
      (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  const std::string number(text.substr(0, i));
  std::string unit;
  for (char c : text.substr(i)) {
    if (c != ' ') unit += static_cast<char>(std::tolower(c));
  }
  // Built from a std::string first: "\"" + std::string(text) trips GCC 12's
  // false -Wrestrict at -O3 (GCC bug 105651).
  std::string quoted(1, '"');
  quoted.append(text);
  quoted += '"';
  const std::string bad =
      quoted + " is not a memory size (examples: 10MB, 512kB, 1GB)";
  auto value = ParseDouble(number);
  if (!value.ok()) return Status::InvalidArgument(bad);
  int64_t scale = 0;
  if (unit == "b") {
    scale = 1;
  } else if (unit == "kb") {
    scale = 1024;
  } else if (unit == "mb") {
    scale = 1024 * 1024;
  } else if (unit == "gb") {
    scale = 1024LL * 1024 * 1024;
  } else if (unit == "tb") {
    scale = 1024LL * 1024 * 1024 * 1024;
  } else {
    return Status::InvalidArgument(bad);
  }
  const double bytes = *value * static_cast<double>(scale);
  if (!(bytes >= 1) || bytes > static_cast<double>(kMaxMemoryPerConnection)) {
    return Status::InvalidArgument(quoted + " is outside [1B, 1TB]");
  }
  return static_cast<int64_t>(std::llround(bytes));
}

std::string FormatMemory(int64_t bytes) {
  constexpr int64_t kKb = 1024, kMb = kKb * 1024, kGb = kMb * 1024;
  char buf[64];
  if (bytes >= 10 * kGb) {
    std::snprintf(buf, sizeof(buf), "%.1f GB",
                  static_cast<double>(bytes) / static_cast<double>(kGb));
  } else if (bytes >= kMb) {
    std::snprintf(buf, sizeof(buf), "%lld MB",
                  static_cast<long long>((bytes + kMb / 2) / kMb));
  } else if (bytes >= kKb) {
    std::snprintf(buf, sizeof(buf), "%lld kB",
                  static_cast<long long>((bytes + kKb / 2) / kKb));
  } else {
    std::snprintf(buf, sizeof(buf), "%lld B", static_cast<long long>(bytes));
  }
  return buf;
}

}  // namespace pgconn
