// The three outputs of `plan --from-prometheus`: a table that shows, for
// every number, the PromQL it came from; JSON for scripts; and the
// DB_POOL_MIN / DB_POOL_MAX lines of each worker's environment file.
#ifndef PGCONN_AGENT_PLAN_RIGHTSIZING_OUTPUT_H_
#define PGCONN_AGENT_PLAN_RIGHTSIZING_OUTPUT_H_

#include <ostream>
#include <string>
#include <vector>

#include "plan/rightsizing.h"

namespace pgconn {

// What was asked: shown above every output.
struct RightSizingRun {
  std::string source;  // the server's URL, without its password
  double end_unix = 0;
  double window_seconds = 0;
  double margin = kDefaultMargin;
  std::vector<std::string> notes;  // the run's, not a target's
};

void WriteRightSizingTable(const RightSizingRun& run,
                           const std::vector<TargetRightSizing>& targets,
                           std::ostream& out);
void WriteRightSizingJson(const RightSizingRun& run,
                          const std::vector<TargetRightSizing>& targets,
                          std::ostream& out);
void WriteRightSizingEnv(const RightSizingRun& run,
                         const std::vector<TargetRightSizing>& targets,
                         std::ostream& out);

}  // namespace pgconn

#endif  // PGCONN_AGENT_PLAN_RIGHTSIZING_OUTPUT_H_
