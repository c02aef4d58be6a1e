// Where a number of connections stands against the usable ones: the one
// classification that the `plan` command and the agent's pool-budget
// metrics share. Pure functions; thread-safe.
#ifndef PGCONN_AGENT_POOLS_BUDGET_H_
#define PGCONN_AGENT_POOLS_BUDGET_H_

#include <cstdint>
#include <string_view>

namespace pgconn {

// Fractions are computed in parts per million so that boundaries are exact.
inline constexpr int64_t kPpm = 1'000'000;

// The headroom in parts per million; at least 1 so that divisions by it are
// defined for any headroom in (0, 1].
int64_t HeadroomPpm(double headroom);

// a × b, or INT64_MAX when that overflows.
int64_t SaturatingMul(int64_t a, int64_t b);

// Where a total stands against the usable connections. Exactly at the
// headroom line is ok: the line is the most a plan may use (the guide's
// 10 workers × DB_POOL_MAX 8 = 80 of 100 is its own "✅" example).
enum class Verdict {
  kOk,            // total <= headroom × usable
  kOverHeadroom,  // headroom × usable < total <= usable
  kOverLimit,     // total > usable: full pools are refused by the server
};
std::string_view VerdictName(Verdict v);  // "ok", "over_headroom", "over_limit"

// floor(headroom × usable): the most connections that fit under the
// headroom. Computed in parts per million so that boundaries are exact
// (0.8 × 100 is 80, not 80.00000000000001). `headroom` in (0, 1].
int64_t HeadroomConnections(int64_t usable, double headroom);

// The verdict for `total` connections when `usable` slots exist.
Verdict ClassifyTotal(int64_t total, int64_t usable, double headroom);

}  // namespace pgconn

#endif  // PGCONN_AGENT_POOLS_BUDGET_H_
