#include "plan/from_prometheus.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "plan/evidence.h"
#include "plan/rightsizing_output.h"
#include "plan/time_text.h"

namespace pgconn {

namespace {

// The window's end: --end, else now in whole seconds (the output and the
// queries show a readable end).
EvidenceRequest Window(const FromPrometheusRequest& request,
                       const PlanCommandContext& ctx) {
  EvidenceRequest er;
  er.window_seconds = request.window_seconds.value_or(kDefaultWindowSeconds);
  if (request.end_unix) {
    er.end_unix = *request.end_unix;
  } else {
    const SystemClock system;
    const Clock& clock = ctx.clock != nullptr ? *ctx.clock : system;
    er.end_unix =
        std::chrono::duration<double>(clock.Now().time_since_epoch()).count();
    er.end_unix = static_cast<double>(static_cast<int64_t>(er.end_unix));
  }
  return er;
}

// The targets to size: those given (each must have declared pools in
// Prometheus over the window), else every one that has.
Result<std::vector<std::string>> ChooseTargets(
    PromQuerier& prometheus, const EvidenceRequest& er,
    const std::vector<std::string>& given) {
  EvidenceQuery discovery;
  auto found = DiscoverTargets(prometheus, er, &discovery);
  if (!found.ok()) return found.status();
  for (const std::string& t : given) {
    if (std::find(found->begin(), found->end(), t) == found->end()) {
      return Status::InvalidArgument(
          "--target " + t + ": no declared pools of that target in " +
          prometheus.Describe() + " over the window (" + discovery.promql +
          ")");
    }
  }
  if (!given.empty()) return given;
  if (found->empty()) {
    return Status::InvalidArgument(
        "no target with declared pools in " + prometheus.Describe() +
        " over the window (" + discovery.promql +
        " is empty): declare the pools (pools:) in the agent's "
        "configuration, and check that this Prometheus scrapes the agent");
  }
  return *found;
}

void WriteRightSizing(RightSizingFormat format, const RightSizingRun& run,
                      const std::vector<TargetRightSizing>& assessed,
                      std::ostream& out) {
  switch (format) {
    case RightSizingFormat::kTable:
      WriteRightSizingTable(run, assessed, out);
      break;
    case RightSizingFormat::kJson:
      WriteRightSizingJson(run, assessed, out);
      break;
    case RightSizingFormat::kEnv:
      WriteRightSizingEnv(run, assessed, out);
      break;
  }
}

}  // namespace

int RunFromPrometheus(const FromPrometheusRequest& request,
                      const PlanCommandContext& ctx, std::ostream& out,
                      std::ostream& err) {
  auto fail = [&err](const Status& s) {
    err << "pgconn-agent plan: " << s.message() << "\n";
    return kPlanBadInput;
  };
  auto client = ctx.prometheus ? ctx.prometheus(request.prometheus)
                               : NewPrometheusClient(request.prometheus);
  if (!client.ok()) return fail(client.status());
  PromQuerier& prometheus = **client;
  const EvidenceRequest er = Window(request, ctx);
  auto targets = ChooseTargets(prometheus, er, request.targets);
  if (!targets.ok()) return fail(targets.status());
  RightSizingSettings settings = request.settings;
  settings.end_unix = er.end_unix;
  settings.window_seconds = er.window_seconds;
  std::vector<TargetRightSizing> assessed;
  for (const std::string& t : *targets) {
    auto evidence = ReadTargetEvidence(prometheus, t, er);
    if (!evidence.ok()) return fail(evidence.status());
    auto a = AssessTarget(*evidence, settings);
    if (!a.ok()) return fail(a.status());
    assessed.push_back(std::move(*a));
  }
  RightSizingRun run;
  run.source = prometheus.Describe();
  run.end_unix = er.end_unix;
  run.window_seconds = er.window_seconds;
  run.margin = settings.margin;
  WriteRightSizing(request.format, run, assessed, out);
  for (const TargetRightSizing& t : assessed) {
    if (t.verdict != Verdict::kOk) return kPlanDoesNotFit;
  }
  return kPlanFits;
}

}  // namespace pgconn
