#include "expose/metrics_writer.h"

#include "util/utf8.h"

namespace pgconn {

Labels WithLabel(const Labels& base, std::string name, std::string value) {
  Labels l = base;
  l.emplace_back(std::move(name), std::move(value));
  return l;
}

namespace {

bool SameLabels(const prometheus::ClientMetric& m, const Labels& labels) {
  if (m.label.size() != labels.size()) return false;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (m.label[i].name != labels[i].first ||
        m.label[i].value != labels[i].second) {
      return false;
    }
  }
  return true;
}

}  // namespace

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
    sanitized_.push_back(false);
    it = index_.emplace(std::string(name), families_.size() - 1).first;
  }
  // Label values come from the server and its clients (database, role and
  // application names, on a SQL_ASCII cluster any bytes at all): made valid
  // UTF-8 here, the one place every sample passes, so that no name can break
  // the exposition.
  bool changed = false;
  for (auto& [k, v] : labels) {
    if (IsValidUtf8(v)) continue;
    v = ToValidUtf8(v);
    changed = true;
  }
  prometheus::MetricFamily& family = families_[it->second];
  if (changed || sanitized_[it->second]) {
    // Two raw names that differ only in their invalid bytes become the same
    // series: folded into one, their values added, as capped labels fold
    // into "(other)". Rare, so the search is linear, and only in a family
    // that has a changed name (whichever of the two comes first).
    sanitized_[it->second] = true;
    for (prometheus::ClientMetric& m : family.metric) {
      if (!SameLabels(m, labels)) continue;
      if (type == prometheus::MetricType::Counter) {
        m.counter.value += value;
      } else {
        m.gauge.value += value;
      }
      return;
    }
  }
  prometheus::ClientMetric m;
  for (auto& [k, v] : labels) m.label.push_back({std::move(k), std::move(v)});
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  family.metric.push_back(std::move(m));
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
  sanitized_.clear();
  return std::move(families_);
}

}  // namespace pgconn
