#include "expose/metrics_writer.h"

namespace pgconn {

Labels WithLabel(const Labels& base, std::string name, std::string value) {
  Labels l = base;
  l.emplace_back(std::move(name), std::move(value));
  return l;
}

void MetricsWriter::Add(std::string_view name, std::string_view help,
                        prometheus::MetricType type, Labels labels,
                        double value) {
  auto it = index_.find(name);
  if (it == index_.end()) {
    prometheus::MetricFamily f;
    f.name = std::string(name);
    f.help = std::string(help);
    f.type = type;
    families_.push_back(std::move(f));
    it = index_.emplace(std::string(name), families_.size() - 1).first;
  }
  prometheus::ClientMetric m;
  for (auto& [k, v] : labels) m.label.push_back({std::move(k), std::move(v)});
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  families_[it->second].metric.push_back(std::move(m));
}

void MetricsWriter::Gauge(std::string_view name, std::string_view help,
                          Labels labels, double value) {
  Add(name, help, prometheus::MetricType::Gauge, std::move(labels), value);
}

void MetricsWriter::Counter(std::string_view name, std::string_view help,
                            Labels labels, double value) {
  Add(name, help, prometheus::MetricType::Counter, std::move(labels), value);
}

std::vector<prometheus::MetricFamily> MetricsWriter::Take() {
  index_.clear();
  return std::move(families_);
}

}  // namespace pgconn
