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

void MonotonicCounters::Apply(MetricsWriter* w) {
  MutexLock lock(&mu_);
  ++poll_;
  // The matching samples first (the callback is not analysed as holding
  // mu_), then their values rewritten here.
  struct Ref {
    std::string_view family;
    std::string_view labels;
    double* value;
  };
  std::vector<Ref> refs;
  std::string_view family_seen;  // the last family, whether it matches
  bool family_matches = false;
  w->ForEachCounter(
      [&](std::string_view family, std::string_view labels, double* value) {
        if (family.data() != family_seen.data()) {
          family_seen = family;
          family_matches = Matches(family);
        }
        if (family_matches) refs.push_back({family, labels, value});
      });
  std::string key;
  for (const Ref& r : refs) {
    key.assign(r.family);
    key += '\0';
    key += r.labels;
    const double raw = *r.value;
    auto [it, inserted] = series_.try_emplace(key);
    Series& s = it->second;
    if (!inserted && raw < s.last_raw) {
      s.offset += s.last_raw;
      ++resets_;
    }
    s.last_raw = raw;
    s.last_poll = poll_;
    *r.value = raw + s.offset;
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
