// Counters by a label value that clients choose (an application name),
// bounded without ever going down.
#ifndef PGCONN_AGENT_UTIL_FOLDING_COUNTERS_H_
#define PGCONN_AGENT_UTIL_FOLDING_COUNTERS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pgconn {

// At most `max_labels` values have a counter of their own, plus one for
// `other_label`. A counter, once it exists, keeps its count and only
// grows: a value that stops being seen keeps its series. When a new value
// arrives and every place is taken, the value seen least recently (by
// Add(), with any n, 0 included) gives up its place: its count moves into
// `other_label`'s, so no counter ever goes down and their sum never
// decreases; the displaced series leaves the exposition (Prometheus sees
// it stop, not reset). Pinned values (declared pools) are never displaced.
// Each Add is O(1): the values are hashed and kept in the order they were
// last seen. Not copyable; not thread-safe.
class FoldingCounters {
 public:
  FoldingCounters(size_t max_labels, std::string other_label)
      : max_labels_(max_labels), other_(std::move(other_label)) {}
  FoldingCounters(const FoldingCounters&) = delete;
  FoldingCounters& operator=(const FoldingCounters&) = delete;

  // Values that keep their place while there is room for them.
  void Pin(std::set<std::string, std::less<>> pinned);
  // A new bound; values beyond it move into the other label's counter,
  // the least recently seen first.
  void SetMaxLabels(size_t max_labels);
  // Adds `n` to `label`'s counter (creating it at `n`), or to the other
  // label's when `label` cannot have a place of its own.
  void Add(std::string_view label, uint64_t n);

  // Every counter, the other label's included once it exists.
  std::map<std::string, uint64_t> Values() const;
  // The sum of every counter (never decreases).
  uint64_t Total() const;
  // Times a value gave up its place to another.
  uint64_t displaced() const { return displaced_; }

 private:
  struct Entry {
    uint64_t value = 0;
    uint64_t last_seen = 0;
    bool pinned = false;
    // The unpinned entries, least recently seen first.
    Entry* older = nullptr;
    Entry* newer = nullptr;
    const std::string* label = nullptr;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      return std::hash<std::string_view>()(s);
    }
  };
  void Unlink(Entry* e);
  void Append(Entry* e);  // as the most recently seen
  void Erase(Entry* e);

  size_t max_labels_;
  std::string other_;
  std::set<std::string, std::less<>> pinned_;
  // Without other_; node-based, so an Entry stays where it is.
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  Entry* oldest_ = nullptr;  // the least recently seen unpinned entry
  Entry* newest_ = nullptr;
  uint64_t other_value_ = 0;
  bool other_exists_ = false;
  uint64_t tick_ = 0;
  uint64_t displaced_ = 0;
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_UTIL_FOLDING_COUNTERS_H_
