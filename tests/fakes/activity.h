// Building ActivityGroup rows for tests.
#ifndef PGCONN_TESTS_FAKES_ACTIVITY_H_
#define PGCONN_TESTS_FAKES_ACTIVITY_H_

#include <cstdint>
#include <string>
#include <utility>

#include "postgres/observations.h"

namespace pgconn {

inline ActivityGroup Group(std::string app, std::string state, int64_t n,
                           double oldest_state = 0, double oldest_xact = 0,
                           int64_t lock = 0) {
  ActivityGroup g;
  g.application = std::move(app);
  g.state = std::move(state);
  g.connections = n;
  g.oldest_state_seconds = oldest_state;
  g.oldest_transaction_seconds = oldest_xact;
  g.lock_waiting = lock;
  return g;
}

}  // namespace pgconn

#endif  // PGCONN_TESTS_FAKES_ACTIVITY_H_
