#include "plan/from_prometheus.h"

#include <algorithm>
#include <chrono>

#include "plan/evidence.h"
#include "plan/rightsizing_output.h"
#include "plan/time_text.h"

namespace pgconn {

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

  EvidenceRequest er;
  er.window_seconds = request.window_seconds.value_or(kDefaultWindowSeconds);
  if (request.end_unix) {
    er.end_unix = *request.end_unix;
  } else {
    const SystemClock system;
    const Clock& clock = ctx.clock != nullptr ? *ctx.clock : system;
    er.end_unix =
        std::chrono::duration<double>(clock.Now().time_since_epoch()).count();
    // Whole seconds: the output and the queries show a readable end.
    er.end_unix = static_cast<double>(static_cast<int64_t>(er.end_unix));
  }

  EvidenceQuery discovery;
  auto found = DiscoverTargets(prometheus, er, &discovery);
  if (!found.ok()) return fail(found.status());
  std::vector<std::string> targets = request.targets;
  for (const std::string& t : targets) {
    if (std::find(found->begin(), found->end(), t) == found->end()) {
      return fail(Status::InvalidArgument(
          "--target " + t + ": no declared pools of that target in " +
          prometheus.Describe() + " over the window (" + discovery.promql +
          ")"));
    }
  }
  if (targets.empty()) targets = *found;
  if (targets.empty()) {
    return fail(Status::InvalidArgument(
        "no target with declared pools in " + prometheus.Describe() +
        " over the window (" + discovery.promql +
        " is empty): declare the pools (pools:) in the agent's "
        "configuration, and check that this Prometheus scrapes the agent"));
  }
  RightSizingSettings settings = request.settings;
  settings.end_unix = er.end_unix;
  settings.window_seconds = er.window_seconds;
  std::vector<TargetRightSizing> assessed;
  for (const std::string& t : targets) {
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
  switch (request.format) {
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
  for (const TargetRightSizing& t : assessed) {
    if (t.verdict != Verdict::kOk) return kPlanDoesNotFit;
  }
  return kPlanFits;
}

}  // namespace pgconn
