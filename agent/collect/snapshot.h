// What one poll of one target saw: each collector's observation, keyed by
// the collector's name, the signals derived from them, and how each
// collector fared. Built by one poll, then frozen and shared as
// std::shared_ptr<const Snapshot> between the poller and readers.
#ifndef PGCONN_AGENT_COLLECT_SNAPSHOT_H_
#define PGCONN_AGENT_COLLECT_SNAPSHOT_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgconn {

// Base of everything a snapshot holds. A collector's observation is a plain
// struct T with `static constexpr std::string_view kName` (the collector's
// name), stored as Part<T>.
class Observation {
 public:
  virtual ~Observation() = default;
};

template <typename T>
struct Part final : Observation {
  explicit Part(T v) : value(std::move(v)) {}
  T value;
};

// Outcome of one collector in one poll.
struct CollectorOutcome {
  std::string name;
  bool success = false;
  double duration_seconds = 0;
  std::string error;  // why it failed; empty on success
};

// Not thread-safe while it is built; immutable (and so thread-safe) once
// shared as const.
class Snapshot {
 public:
  // Stores `part` under `name`, replacing an earlier part of that name.
  void Put(std::string_view name, std::shared_ptr<const Observation> part);
  template <typename T>
  void Put(T value) {
    Put(T::kName, std::make_shared<const Part<T>>(std::move(value)));
  }

  // The part stored under `name`, or null. A collector that failed, was
  // switched off or does not apply to the server has no part: its metrics
  // are absent, not zero.
  const Observation* Get(std::string_view name) const;
  template <typename T>
  const T* Find() const {
    const auto* p = dynamic_cast<const Part<T>*>(Get(T::kName));
    return p == nullptr ? nullptr : &p->value;
  }

  std::vector<CollectorOutcome> collectors;  // in the order they ran

 private:
  std::vector<std::pair<std::string, std::shared_ptr<const Observation>>>
      parts_;
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_COLLECT_SNAPSHOT_H_
