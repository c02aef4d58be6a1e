// The plan and the scale table, as a table for a person or as JSON.
#ifndef PGCONN_AGENT_PLAN_PLAN_OUTPUT_H_
#define PGCONN_AGENT_PLAN_PLAN_OUTPUT_H_

#include <ostream>
#include <vector>

#include "plan/plan_inputs.h"
#include "plan/planner.h"

namespace pgconn::detail {

void WritePlanText(const Plan& p, const Inputs& in, std::ostream& out);
void WritePlanJson(const Plan& p, const Inputs& in, std::ostream& out);
void WriteScaleText(const std::vector<ScaleRow>& rows, const Inputs& in,
                    std::ostream& out);
void WriteScaleJson(const std::vector<ScaleRow>& rows, const Inputs& in,
                    std::ostream& out);

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_PLAN_PLAN_OUTPUT_H_
