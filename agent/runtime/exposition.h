// Turns target reports into Prometheus metric families (pure), and those into
// the text exposition format with prometheus-cpp's serializer.
#ifndef PGCONN_AGENT_RUNTIME_EXPOSITION_H_
#define PGCONN_AGENT_RUNTIME_EXPOSITION_H_

#include <prometheus/metric_family.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/report.h"

namespace pgconn {

struct BuildInfo {
  std::string version;
  std::string revision;
};
BuildInfo CurrentBuildInfo();

std::vector<prometheus::MetricFamily> BuildMetricFamilies(
    const std::vector<TargetReport>& reports, const BuildInfo& build);

// Text format 0.0.4.
std::string SerializeText(
    const std::vector<prometheus::MetricFamily>& families);

namespace detail {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Accumulates samples into families, keeping first-seen order of families
// and of samples. Not thread-safe; used within one BuildMetricFamilies call.
class MetricsWriter {
 public:
  void Gauge(std::string_view name, std::string_view help, Labels labels,
             double value);
  void Counter(std::string_view name, std::string_view help, Labels labels,
               double value);
  std::vector<prometheus::MetricFamily> Take();

 private:
  void Add(std::string_view name, std::string_view help,
           prometheus::MetricType type, Labels labels, double value);
  std::vector<prometheus::MetricFamily> families_;
  std::map<std::string, size_t, std::less<>> index_;
};

// Per-kind parts of the exposition.
void AppendAgentMetrics(const std::vector<TargetReport>& reports,
                        const BuildInfo& build, MetricsWriter* w);
void AppendPostgresMetrics(const TargetReport& report, MetricsWriter* w);
// agent/pool_metrics.cc: declared pools against the snapshot.
void AppendPoolMetrics(const TargetReport& report, MetricsWriter* w);
// agent/pgbouncer_metrics.cc
void AppendPgBouncerMetrics(const TargetReport& report, MetricsWriter* w);

}  // namespace detail
}  // namespace pgconn

#endif  // PGCONN_AGENT_RUNTIME_EXPOSITION_H_
