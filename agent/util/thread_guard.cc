#include "pgconn/thread_guard.h"

#include <cstdlib>
#include <exception>
#include <string>

namespace pgconn {

ThreadFailureHandler ExitOnThreadFailure(const Logger& logger) {
  return [&logger](std::string_view thread, std::string_view what) {
    logger.Error("thread failed, exiting",
                 {{"thread", std::string(thread)}, {"err", std::string(what)}});
    std::_Exit(1);
  };
}

bool RunGuarded(std::string_view thread, const ThreadFailureHandler& on_failure,
                const std::function<void()>& body) {
  try {
    body();
    return true;
  } catch (const std::exception& e) {
    on_failure(thread, e.what());
  } catch (...) {
    on_failure(thread, "unknown exception");
  }
  return false;
}

bool FaultInjected(std::string_view site) {
  // Read once; immutable afterwards, so any thread may ask.
  static const std::string fault = [] {
    const char* v = std::getenv("PGCONN_INTERNAL_FAULT");
    return std::string(v == nullptr ? "" : v);
  }();
  return !fault.empty() && fault == site;
}

}  // namespace pgconn
