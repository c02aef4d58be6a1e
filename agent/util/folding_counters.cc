#include "util/folding_counters.h"

#include <algorithm>
#include <vector>

namespace pgconn {

void FoldingCounters::Unlink(Entry* e) {
  (e->older != nullptr ? e->older->newer : oldest_) = e->newer;
  (e->newer != nullptr ? e->newer->older : newest_) = e->older;
  e->older = e->newer = nullptr;
}

void FoldingCounters::Append(Entry* e) {
  e->older = newest_;
  e->newer = nullptr;
  (newest_ != nullptr ? newest_->newer : oldest_) = e;
  newest_ = e;
}

void FoldingCounters::Erase(Entry* e) {
  Unlink(e);
  other_value_ += e->value;
  other_exists_ = true;
  entries_.erase(entries_.find(*e->label));
  ++displaced_;
}

void FoldingCounters::Pin(std::set<std::string, std::less<>> pinned) {
  pinned_ = std::move(pinned);
  // Rare (start-up, a reload): the order of the unpinned entries rebuilt.
  std::vector<Entry*> unpinned;
  for (auto& [label, e] : entries_) {
    e.pinned = pinned_.count(label) > 0;
    if (!e.pinned) unpinned.push_back(&e);
  }
  std::sort(unpinned.begin(), unpinned.end(),
            [](const Entry* a, const Entry* b) {
              return a->last_seen < b->last_seen;
            });
  oldest_ = newest_ = nullptr;
  for (Entry* e : unpinned) Append(e);
}

void FoldingCounters::SetMaxLabels(size_t max_labels) {
  max_labels_ = max_labels;
  while (entries_.size() > max_labels_) {
    if (oldest_ == nullptr) return;  // every one pinned
    Erase(oldest_);
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
      // No room (every place pinned, or none at all): the other label's.
      if (oldest_ == nullptr || max_labels_ == 0) {
        other_value_ += n;
        other_exists_ = true;
        return;
      }
      Erase(oldest_);
    }
    it = entries_.emplace(std::string(label), Entry{}).first;
    Entry& e = it->second;
    e.label = &it->first;
    e.pinned = pinned_.count(label) > 0;
    if (!e.pinned) Append(&e);
  } else if (!it->second.pinned) {
    Unlink(&it->second);
    Append(&it->second);
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
