#include "pools/budget.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pgconn {

int64_t HeadroomPpm(double headroom) {
  return std::max<int64_t>(1, std::llround(headroom * kPpm));
}

int64_t SaturatingMul(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) {
    return std::numeric_limits<int64_t>::max();
  }
  return out;
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kOverHeadroom:
      return "over_headroom";
    case Verdict::kOverLimit:
      return "over_limit";
  }
  return "ok";
}

int64_t HeadroomConnections(int64_t usable, double headroom) {
  if (usable <= 0) return 0;
  return SaturatingMul(usable, HeadroomPpm(headroom)) / kPpm;
}

Verdict ClassifyTotal(int64_t total, int64_t usable, double headroom) {
  if (total > usable) return Verdict::kOverLimit;
  if (total > HeadroomConnections(usable, headroom)) {
    return Verdict::kOverHeadroom;
  }
  return Verdict::kOk;
}

}  // namespace pgconn
