// `pgconn-agent plan`: flags (plan_flags.cc), inputs (plan_inputs.cc), the
// planner (planner.cc) and its output (plan_output.cc), wired together.
#include "pgconn/plan_command.h"

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "plan/from_prometheus.h"
#include "plan/plan_flags.h"
#include "plan/plan_inputs.h"
#include "plan/plan_output.h"
#include "plan/planner.h"

namespace pgconn {
namespace {

bool HasErrors(const std::vector<Finding>& findings) {
  for (const Finding& f : findings) {
    if (f.severity == FindingSeverity::kError) return true;
  }
  return false;
}

}  // namespace

using detail::CheckFlagCombination;
using detail::FromPrometheus;
using detail::ParsePlanFlags;
using detail::Resolve;
using detail::WritePlanJson;
using detail::WritePlanText;
using detail::WriteScaleJson;
using detail::WriteScaleText;

int RunPlanCommand(const std::vector<std::string>& args,
                   const PlanCommandContext& ctx, std::ostream& out,
                   std::ostream& err) {
  auto bad_input = [&err](const Status& s) {
    err << "pgconn-agent plan: " << s.message() << "\n";
    return kPlanBadInput;
  };
  auto flags = ParsePlanFlags(args);
  if (!flags.ok()) return bad_input(flags.status());
  if (flags->help) {
    out << PlanHelp("pgconn-agent");
    return kPlanFits;
  }
  if (Status s = CheckFlagCombination(*flags); !s.ok()) return bad_input(s);
  if (flags->from_prometheus) {
    return RunFromPrometheus(FromPrometheus(*flags), ctx, out, err);
  }
  std::optional<std::vector<int64_t>> counts;
  if (flags->scale_table) {
    auto c = ParseWorkerCounts(*flags->scale_table);
    if (!c.ok()) return bad_input(c.status());
    counts = std::move(*c);
  }
  auto in = Resolve(*flags, ctx);
  if (!in.ok()) return bad_input(in.status());
  const bool lint_errors = HasErrors(in->findings);
  if (counts) {
    auto rows = MakeScaleTable(in->plan, *counts);
    if (!rows.ok()) return bad_input(rows.status());
    (flags->json ? WriteScaleJson : WriteScaleText)(*rows, *in, out);
    return lint_errors ? kPlanDoesNotFit : kPlanFits;
  }
  auto plan = MakePlan(in->plan);
  if (!plan.ok()) return bad_input(plan.status());
  (flags->json ? WritePlanJson : WritePlanText)(*plan, *in, out);
  return plan->verdict == Verdict::kOk && !lint_errors ? kPlanFits
                                                       : kPlanDoesNotFit;
}

}  // namespace pgconn
