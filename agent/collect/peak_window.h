// The highest value seen over a sliding time window, per key: what the
// *_peak gauges export, so that a scrape every 15 s still sees a spike that
// one poll saw. A monotonic queue per key keeps only the samples that can
// still become the maximum, so memory is O(window / poll interval) per key.
// The queue is a vector: it holds one to a few samples, and a std::deque
// takes a 512-byte block for one (4 MiB of a 500-target agent's memory).
#ifndef PGCONN_AGENT_COLLECT_PEAK_WINDOW_H_
#define PGCONN_AGENT_COLLECT_PEAK_WINDOW_H_

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pgconn {

// Not thread-safe.
class PeakWindow {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit PeakWindow(std::chrono::milliseconds window) : window_(window) {}

  // Adds the value seen at `now` (times never go back) and forgets what is
  // older than the window.
  void Add(TimePoint now, double value) {
    while (!samples_.empty() && samples_.back().second <= value) {
      samples_.pop_back();
    }
    samples_.emplace_back(now, value);
    // The last sample is `now`'s: the loop stops there at the latest.
    size_t old = 0;
    while (samples_[old].first + window_ < now) ++old;
    if (old > 0) {
      samples_.erase(samples_.begin(),
                     samples_.begin() + static_cast<std::ptrdiff_t>(old));
    }
  }
  // The highest value added within the window that ends at the last Add;
  // 0 before the first.
  double Max() const { return samples_.empty() ? 0 : samples_.front().second; }
  size_t size() const { return samples_.size(); }

 private:
  std::chrono::milliseconds window_;
  std::vector<std::pair<TimePoint, double>> samples_;  // values decreasing
};

// A PeakWindow per label value. A key missing from a poll counts as 0 for
// it; a key whose peak is 0 is dropped, so the number of keys is bounded by
// what the window saw. Not thread-safe.
class KeyedPeakWindows {
 public:
  explicit KeyedPeakWindows(std::chrono::milliseconds window)
      : window_(window) {}

  void Add(PeakWindow::TimePoint now,
           const std::map<std::string, double>& values) {
    for (const auto& [key, v] : values) {
      windows_.try_emplace(key, window_).first->second.Add(now, v);
    }
    for (auto it = windows_.begin(); it != windows_.end();) {
      if (values.count(it->first) == 0) it->second.Add(now, 0);
      if (it->second.Max() == 0 && values.count(it->first) == 0) {
        it = windows_.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::map<std::string, double> Peaks() const {
    std::map<std::string, double> out;
    for (const auto& [key, w] : windows_) out[key] = w.Max();
    return out;
  }

 private:
  std::chrono::milliseconds window_;
  std::map<std::string, PeakWindow> windows_;
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_COLLECT_PEAK_WINDOW_H_
