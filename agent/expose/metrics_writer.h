// Collects samples into each target's exposition part: what collectors and
// signal stages write their metrics into. The samples are written as text
// the moment they arrive (docs/architecture.md, "Why the hot path writes
// its own text").
#ifndef PGCONN_AGENT_EXPOSE_METRICS_WRITER_H_
#define PGCONN_AGENT_EXPOSE_METRICS_WRITER_H_

#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "expose/exposition_part.h"

namespace pgconn {

// One label: its name and its value, viewed.
using Label = std::pair<std::string_view, std::string_view>;

// Labels that every sample of a target starts with ({"target", name}):
// owned, and rendered once (made valid UTF-8, escaped) for all of them.
class LabelPrefix {
 public:
  LabelPrefix(std::initializer_list<std::pair<std::string, std::string>> l);
  LabelPrefix(const LabelPrefix&) = delete;
  LabelPrefix& operator=(const LabelPrefix&) = delete;

  size_t size() const { return labels_.size(); }
  Label operator[](size_t i) const {
    return {labels_[i].first, labels_[i].second};
  }
  // `name="value",...` without braces.
  const std::string& rendered() const { return rendered_; }
  // Whether a value had to be made valid UTF-8.
  bool sanitized() const { return sanitized_; }

 private:
  std::vector<std::pair<std::string, std::string>> labels_;
  std::string rendered_;
  bool sanitized_ = false;
};

// The labels of one sample, passed by value without allocating: an optional
// LabelPrefix, then up to kMaxOwn labels whose names and values are views
// that must outlive the writer call that takes them (a temporary string in
// the call's own expression does).
class Labels {
 public:
  static constexpr size_t kMaxOwn = 6;

  Labels() = default;
  Labels(std::initializer_list<Label> labels);
  Labels(const LabelPrefix& prefix) : prefix_(&prefix) {}  // NOLINT: implicit

  // Prefix labels first.
  size_t size() const {
    return (prefix_ != nullptr ? prefix_->size() : 0) + size_;
  }
  bool empty() const { return size() == 0; }
  Label operator[](size_t i) const;

  const LabelPrefix* prefix() const { return prefix_; }
  const Label* own_begin() const { return own_.data(); }
  const Label* own_end() const { return own_.data() + size_; }

  // These labels and then name="value". More than kMaxOwn is a programming
  // error (asserted; in a release build the extra label is dropped).
  Labels With(std::string_view name, std::string_view value) const;

 private:
  const LabelPrefix* prefix_ = nullptr;
  std::array<Label, kMaxOwn> own_{};
  size_t size_ = 0;
};

// `base` with one more label: the one label helper of the exposition.
Labels WithLabel(const Labels& base, std::string_view name,
                 std::string_view value);

// Accumulates samples, written as text the moment they arrive, keeping the
// first-seen order of families and of samples within a family (calls may
// interleave families: each family has its own buffer). Every label value
// is made valid UTF-8 (ToValidUtf8); samples whose labels become equal by
// that are folded into one, their values added. Not thread-safe; one writer
// serves one part at a time. A writer can be used again and again (each
// Take empties it): it keeps its families' buffers and headers, so that a
// poll's part costs a few allocations instead of a few per family.
class MetricsWriter {
 public:
  MetricsWriter() = default;
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  void Gauge(std::string_view name, std::string_view help, const Labels& labels,
             double value);
  void Counter(std::string_view name, std::string_view help,
               const Labels& labels, double value);

  // The text exposition of what was written (the hot path); the writer is
  // empty afterwards.
  ExpositionPart TakePart();
  // Forgets what was written since the last Take (after a failure),
  // keeping the families' buffers: what every Take ends with.
  void Clear();
  // The same samples as prometheus-cpp families (for tests and readers that
  // want structure: the labels are parsed back from their text).
  std::vector<prometheus::MetricFamily> Take();

  // Calls fn(family_name, labels, &value) for every sample of every counter
  // family, `labels` being the sample's rendered labels ("{a=\"b\"}", or
  // empty): for rewriting values before TakePart (MonotonicCounters).
  template <typename Fn>
  void ForEachCounter(Fn&& fn) {
    for (Family* f : order_) {
      if (f->type != prometheus::MetricType::Counter) continue;
      uint32_t start = 0;
      for (Sample& s : f->samples) {
        fn(std::string_view(f->name),
           std::string_view(f->labels).substr(start, s.end - start), &s.value);
        start = s.end;
      }
    }
  }

 private:
  struct Sample {
    uint32_t end;  // where the sample's labels end in Family::labels
    double value;
  };
  // Sample indices of a family, hashed by their labels' text.
  struct Family;
  struct SampleHash {
    const Family* family;
    size_t operator()(uint32_t i) const;
  };
  struct SampleEqual {
    const Family* family;
    bool operator()(uint32_t a, uint32_t b) const;
  };
  using SampleIndex = std::unordered_set<uint32_t, SampleHash, SampleEqual>;
  struct Family {
    std::string name;
    std::string help;
    prometheus::MetricType type;
    // Its header, made by the first TakePart that had the family, and
    // shared by every part since.
    std::shared_ptr<const ExpositionPart::Head> head;
    bool written = false;  // in order_ (written to since the last Take)
    std::string labels;    // every sample's rendered labels, back to back
    std::vector<Sample> samples;
    // Once a label value of the family was made UTF-8: its samples by
    // labels, to fold the ones that became equal.
    std::unique_ptr<SampleIndex> index;
    std::string_view LabelsOf(uint32_t i) const {
      const uint32_t start = i == 0 ? 0 : samples[i - 1].end;
      return std::string_view(labels).substr(start, samples[i].end - start);
    }
  };

  void Add(std::string_view name, std::string_view help,
           prometheus::MetricType type, const Labels& labels, double value);
  Family& FamilyFor(std::string_view name, std::string_view help,
                    prometheus::MetricType type);

  // Every family ever written to; a deque: the names stay where they are.
  std::deque<Family> families_;
  std::unordered_map<std::string_view, size_t> by_name_;
  std::vector<Family*> order_;  // written to since the last Take, in order
  Family* last_ = nullptr;
  std::string text_;  // TakePart's buffer
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_EXPOSE_METRICS_WRITER_H_
