#include "util/folding_counters.h"

namespace pgconn {

std::map<std::string, FoldingCounters::Entry, std::less<>>::iterator
FoldingCounters::Oldest() {
  auto oldest = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (pinned_.count(it->first) > 0) continue;
    if (oldest == entries_.end() ||
        it->second.last_seen < oldest->second.last_seen) {
      oldest = it;
    }
  }
  return oldest;
}

void FoldingCounters::SetMaxLabels(size_t max_labels) {
  max_labels_ = max_labels;
  while (entries_.size() > max_labels_) {
    auto oldest = Oldest();
    if (oldest == entries_.end()) return;  // every one pinned
    other_value_ += oldest->second.value;
    other_exists_ = true;
    entries_.erase(oldest);
    ++displaced_;
  }
}

void FoldingCounters::Add(std::string_view label, uint64_t n) {
  ++tick_;
  if (label == other_) {
    other_value_ += n;
    other_exists_ = true;
    return;
  }
  auto it = entries_.find(label);
  if (it == entries_.end()) {
    if (entries_.size() >= max_labels_) {
      auto oldest = Oldest();
      // No room (every place pinned, or none at all): the other label's.
      if (oldest == entries_.end() || (max_labels_ == 0)) {
        other_value_ += n;
        other_exists_ = true;
        return;
      }
      other_value_ += oldest->second.value;
      other_exists_ = true;
      entries_.erase(oldest);
      ++displaced_;
    }
    it = entries_.emplace(std::string(label), Entry{}).first;
  }
  it->second.value += n;
  it->second.last_seen = tick_;
}

std::map<std::string, uint64_t> FoldingCounters::Values() const {
  std::map<std::string, uint64_t> out;
  for (const auto& [label, e] : entries_) out.emplace(label, e.value);
  if (other_exists_) out[other_] += other_value_;
  return out;
}

uint64_t FoldingCounters::Total() const {
  uint64_t total = other_value_;
  for (const auto& [label, e] : entries_) total += e.value;
  return total;
}

}  // namespace pgconn
