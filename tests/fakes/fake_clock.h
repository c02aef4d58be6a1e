// A clock that moves only when told to.
#ifndef PGCONN_TESTS_FAKES_FAKE_CLOCK_H_
#define PGCONN_TESTS_FAKES_FAKE_CLOCK_H_

#include <mutex>

#include "pgconn/clock.h"

namespace pgconn {

// Thread-safe.
class FakeClock final : public Clock {
 public:
  FakeClock()
      : now_(std::chrono::system_clock::time_point(
            std::chrono::seconds(1'700'000'000))) {}
  std::chrono::system_clock::time_point Now() const override {
    std::lock_guard<std::mutex> l(mu_);
    return now_;
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    std::lock_guard<std::mutex> l(mu_);
    return mono_;
  }
  void Advance(std::chrono::steady_clock::duration d) {
    std::lock_guard<std::mutex> l(mu_);
    now_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    mono_ += d;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point now_;
  std::chrono::steady_clock::time_point mono_{};
};

}  // namespace pgconn

#endif  // PGCONN_TESTS_FAKES_FAKE_CLOCK_H_
