// Times and durations as `plan --from-prometheus` reads and writes them.
// Pure functions; thread-safe.
#ifndef PGCONN_AGENT_PLAN_TIME_TEXT_H_
#define PGCONN_AGENT_PLAN_TIME_TEXT_H_

#include <string>
#include <string_view>

#include "pgconn/status.h"

namespace pgconn {

// --end: Unix seconds ("1765116000", "1765116000.5") or RFC 3339
// ("2026-12-07T14:00:00Z", "2026-12-07T15:00:00.250+01:00").
Result<double> ParseTimeText(std::string_view text);

// "2026-12-07T14:00:00Z" (UTC, whole seconds; milliseconds when there are).
std::string FormatRfc3339(double unix_seconds);

// "7d", "2h 30m", "45 s", "1.5 s": what a person reads.
std::string HumanDuration(double seconds);

}  // namespace pgconn

#endif  // PGCONN_AGENT_PLAN_TIME_TEXT_H_
