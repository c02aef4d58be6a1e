#include "expose/monotonic_counters.h"

#include <algorithm>

namespace pgconn {

MonotonicCounters::MonotonicCounters(std::vector<std::string> prefixes,
                                     size_t max_series)
    : prefixes_(std::move(prefixes)), max_series_(max_series) {}

bool MonotonicCounters::Matches(std::string_view family) const {
  return std::any_of(
      prefixes_.begin(), prefixes_.end(),
      [&](const std::string& p) { return family.substr(0, p.size()) == p; });
}

void MonotonicCounters::Apply(std::vector<prometheus::MetricFamily>* families) {
  MutexLock lock(&mu_);
  ++poll_;
  for (prometheus::MetricFamily& f : *families) {
    if (f.type != prometheus::MetricType::Counter || !Matches(f.name)) continue;
    for (prometheus::ClientMetric& m : f.metric) {
      std::string key = f.name;
      for (const auto& l : m.label) {
        key += '\0';
        key += l.name;
        key += '=';
        key += l.value;
      }
      const double raw = m.counter.value;
      auto [it, inserted] = series_.try_emplace(std::move(key));
      Series& s = it->second;
      if (!inserted && raw < s.last_raw) {
        s.offset += s.last_raw;
        ++resets_;
      }
      s.last_raw = raw;
      s.last_poll = poll_;
      m.counter.value = raw + s.offset;
    }
  }
  // Bounded: forget the series unseen for the most polls (a database
  // dropped long ago); one that comes back starts from its server value.
  while (series_.size() > max_series_) {
    auto oldest = series_.begin();
    for (auto it = series_.begin(); it != series_.end(); ++it) {
      if (it->second.last_poll < oldest->second.last_poll) oldest = it;
    }
    series_.erase(oldest);
  }
}

uint64_t MonotonicCounters::resets() const {
  MutexLock lock(&mu_);
  return resets_;
}

}  // namespace pgconn
