// Waiting for a condition with a deadline: the integration tests' only way
// of synchronising with servers and the agent (never a bare sleep).
#ifndef PGCONN_TESTS_INTEGRATION_EVENTUALLY_H_
#define PGCONN_TESTS_INTEGRATION_EVENTUALLY_H_

#include <chrono>
#include <functional>
#include <thread>

namespace pgconn::testing {

// Checks `condition` every `step` until it holds (true) or `timeout` has
// passed (false, after one last check).
inline bool Eventually(
    const std::function<bool()>& condition,
    std::chrono::steady_clock::duration timeout = std::chrono::seconds(20),
    std::chrono::steady_clock::duration step = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(step);
  }
  return condition();
}

}  // namespace pgconn::testing

#endif  // PGCONN_TESTS_INTEGRATION_EVENTUALLY_H_
