// Time, injected so that tests can control it.
#ifndef PGCONN_CLOCK_H_
#define PGCONN_CLOCK_H_

#include <chrono>

namespace pgconn {

// Source of wall-clock and monotonic time. Implementations must be
// thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for timestamps that leave the process.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, for durations and deadlines.
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
};

// The real clocks. Thread-safe; stateless.
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
};

// Seconds since the Unix epoch, as Prometheus timestamps want them.
inline double ToUnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace pgconn

#endif  // PGCONN_CLOCK_H_
