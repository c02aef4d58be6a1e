// Collects samples into Prometheus metric families: what collectors and
// signal stages write their metrics into.
#ifndef PGCONN_AGENT_EXPOSE_METRICS_WRITER_H_
#define PGCONN_AGENT_EXPOSE_METRICS_WRITER_H_

#include <prometheus/metric_family.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgconn {

using Labels = std::vector<std::pair<std::string, std::string>>;

// `base` with one more label: the one label helper of the exposition.
Labels WithLabel(const Labels& base, std::string name, std::string value);

// Accumulates samples into families, keeping the first-seen order of
// families and of samples. Every label value is made valid UTF-8
// (ToValidUtf8); samples whose labels become equal by that are folded into
// one, their values added. Not thread-safe; one writer serves one target's
// part of one poll.
class MetricsWriter {
 public:
  MetricsWriter() = default;
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

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
  std::vector<bool> sanitized_;  // per family: a label value was made UTF-8
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_EXPOSE_METRICS_WRITER_H_
