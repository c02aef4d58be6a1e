#include "plan/rightsizing_output.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "plan/time_text.h"
#include "util/json_writer.h"

namespace pgconn {
namespace {

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", std::round(v * 100) / 100);
  return buf;
}

std::string Percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g %%", std::round(ratio * 1000) / 10);
  return buf;
}

std::string Pad(std::string s, size_t width) {
  // Display width: count UTF-8 lead bytes only.
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  if (chars < width) s.append(width - chars, ' ');
  return s + " ";
}

std::string Agents(int64_t n) {
  return std::to_string(n) + (n == 1 ? " agent" : " agents");
}

std::string Change(int64_t from, int64_t to) {
  if (from == to) return std::to_string(to) + " (kept)";
  return std::to_string(from) + " -> " + std::to_string(to);
}

std::string SaturatedText(const ApplicationRightSizing& a) {
  if (!a.saturated) return "no";
  if (a.saturated_seconds > 0) {
    return "yes, " + HumanDuration(a.saturated_seconds);
  }
  return "yes (peak at capacity)";
}

// The slope of the least-squares line: "+6 connections/h".
std::string SlopeText(const TargetEvidence& e) {
  if (!e.used_slope_per_second) return "no used connections in the window";
  std::string out = *e.used_slope_per_second >= 0 ? "+" : "";
  out += Number(*e.used_slope_per_second * 3600);
  out += " connections/h";
  return out;
}

// "10 × 4 + 1 × 7": the pools of the budget, as declared or recommended.
std::string PoolsSum(const TargetRightSizing& t, bool recommended) {
  std::string out;
  for (const ApplicationRightSizing& a : t.applications) {
    if (a.replicas <= 0) continue;
    if (!out.empty()) out += " + ";
    out += std::to_string(a.replicas) + " \u00d7 " +
           std::to_string(recommended ? a.recommended_pool_max : a.pool_max);
  }
  return out.empty() ? "0" : out;
}

// One row of the Budget part.
void Row(std::ostream& out, std::string_view label, const std::string& value,
         const std::string& detail) {
  out << "  " << Pad(std::string(label), 22) << Pad(value, 14) << detail
      << "\n";
}

// The Budget part: the verdict and the numbers it comes from.
void WriteBudget(const RightSizingRun& run, const TargetRightSizing& t,
                 std::ostream& out) {
  const TargetEvidence& e = t.evidence;
  const std::string fixed = " + overhead " + std::to_string(t.overhead) +
                            " + " + Agents(t.monitoring_agents);
  Row(out, "verdict", std::string(VerdictName(t.verdict)),
      "with the recommendations: " + std::to_string(t.recommended_total) +
          " connections (declared: " +
          std::string(VerdictName(t.declared_verdict)) + ", " +
          std::to_string(t.declared_total) + ")");
  Row(out, "recommended total", std::to_string(t.recommended_total),
      "replicas \u00d7 recommended DB_POOL_MAX: " + PoolsSum(t, true) + fixed);
  Row(out, "declared total", std::to_string(t.declared_total),
      "replicas \u00d7 declared DB_POOL_MAX: " + PoolsSum(t, false) + fixed);
  Row(out, "usable connections", std::to_string(t.usable),
      "max_connections " + std::to_string(t.max_connections) + " - reserved " +
          std::to_string(t.reserved));
  Row(out, "headroom line", std::to_string(t.headroom_connections),
      Percent(t.headroom) + " of " + std::to_string(t.usable) +
          ", rounded down");
  Row(out, "used connections",
      e.used_last ? Number(*e.used_last) : std::string("-"),
      "at the end; peak " + (e.used_peak ? Number(*e.used_peak) : "-") +
          " within the window");
  Row(out, "time to exhaustion",
      t.exhaustion_eta_seconds ? HumanDuration(*t.exhaustion_eta_seconds)
                               : std::string("none"),
      t.exhaustion_eta_seconds
          ? "the least-squares line of used connections reaches " +
                std::to_string(t.usable) + " at " +
                FormatRfc3339(run.end_unix + *t.exhaustion_eta_seconds) + " (" +
                SlopeText(e) + ")"
          : "the least-squares line of used connections does not rise (" +
                SlopeText(e) + ")");
  Row(out, "history", t.evidence_complete ? "complete" : "too short",
      t.evidence_complete
          ? "samples cover the window; polls and scrapes succeeded"
          : "nothing is lowered: see below");
}

// One line per declared application: declared -> recommended.
void WriteApplications(const TargetRightSizing& t, std::ostream& out) {
  out << "\n  " << Pad("application", 16) << Pad("replicas", 8)
      << Pad("DB_POOL_MAX", 14) << Pad("DB_POOL_MIN", 14) << Pad("busy peak", 9)
      << Pad("median", 7) << "saturated\n";
  for (const ApplicationRightSizing& a : t.applications) {
    const ApplicationEvidence& ev = a.evidence;
    std::string max = Change(a.pool_max, a.recommended_pool_max);
    std::string min = Change(a.pool_min, a.recommended_pool_min);
    if (a.state != SizingState::kSized) {
      max = std::to_string(a.pool_max) + " (kept)";
      min = std::to_string(a.pool_min) + " (kept)";
    }
    out << "  " << Pad(ev.application, 16) << Pad(std::to_string(a.replicas), 8)
        << Pad(max, 14) << Pad(min, 14)
        << Pad(ev.busy_peak ? Number(*ev.busy_peak) : "-", 9)
        << Pad(ev.busy_median ? Number(*ev.busy_median) : "-", 7)
        << SaturatedText(a) << "\n";
  }
}

// Why a pool is not lowered, or grows, and every note.
std::vector<std::string> Findings(const TargetRightSizing& t) {
  std::vector<std::string> findings;
  for (const std::string& r : t.insufficient) {
    findings.push_back("too little history: " + r);
  }
  for (const ApplicationRightSizing& a : t.applications) {
    const std::string& app = a.evidence.application;
    if (a.state == SizingState::kSized && a.saturated) {
      findings.push_back(app + ": the pools were full for " +
                         (a.saturated_seconds > 0
                              ? HumanDuration(a.saturated_seconds)
                              : std::string("at least one poll")) +
                         " of the window: the peak is censored, so DB_POOL_MAX "
                         "grows by the margin instead (at least 1)");
    }
    for (const std::string& r : a.insufficient) {
      findings.push_back(app + ": too little history: " + r);
    }
    if (a.held_back) {
      findings.push_back(app + ": the rule gives DB_POOL_MAX " +
                         std::to_string(a.rule->pool_max) + ", DB_POOL_MIN " +
                         std::to_string(a.rule->pool_min) +
                         "; nothing is lowered until the history covers the "
                         "window");
    }
    for (const std::string& n : a.notes) findings.push_back(app + ": " + n);
  }
  for (const std::string& n : t.notes) findings.push_back(n);
  return findings;
}

// Where the recommended budget does not fit: the three ways out.
void WriteOptions(const TargetRightSizing& t, std::ostream& out) {
  if (!t.options) return;
  const Plan& p = *t.options;
  out << "\n  Options (the recommended budget does not fit)\n";
  for (const ReducePoolOption& r : t.reduce) {
    std::string line = "  1. reduce_pool_max  " + r.application + ": ";
    if (!r.pool_max) {
      line += "none fits";
    } else {
      line += "DB_POOL_MAX=" + std::to_string(*r.pool_max);
      if (static_cast<double>(*r.pool_max) < r.busy_peak_per_worker) {
        line += " (below the busy peak of " + Number(r.busy_peak_per_worker) +
                " per worker: its workers would wait)";
      }
    }
    out << line << "\n";
  }
  const RaiseMaxConnectionsOption& m = p.raise_max_connections;
  out << "  2. raise_max_connections  max_connections=" << m.max_connections
      << " (+" << m.additional_connections << ", about +"
      << FormatMemory(m.additional_memory_bytes)
      << " of server memory; needs a restart)\n";
  const PgBouncerOption& b = p.use_pgbouncer;
  out << "  3. use_pgbouncer  default_pool_size=" << b.pool_size
      << " (the summed busy peaks with the margin): " << b.server_connections
      << " connections to PostgreSQL, " << VerdictName(b.verdict) << "\n";
}

void WriteTargetTable(const RightSizingRun& run, const TargetRightSizing& t,
                      std::ostream& out) {
  const TargetEvidence& e = t.evidence;
  out << "\nTarget " << e.target << "\n";
  WriteBudget(run, t, out);
  WriteApplications(t, out);
  const std::vector<std::string> findings = Findings(t);
  if (!findings.empty()) {
    out << "\n";
    for (const std::string& f : findings) out << "  - " << f << "\n";
  }
  WriteOptions(t, out);
  out << "\n  Evidence (PromQL at " << FormatRfc3339(run.end_unix) << ")\n";
  for (const EvidenceQuery& q : e.queries) {
    out << "    " << Pad(q.quantity, 26) << q.promql << "\n";
  }
}

void OptionalDouble(JsonWriter& w, const std::optional<double>& v) {
  if (v && std::isfinite(*v)) {
    w.Double(*v);
  } else {
    w.Null();
  }
}

void Strings(JsonWriter& w, const std::vector<std::string>& v) {
  w.BeginArray();
  for (const std::string& s : v) w.String(s);
  w.EndArray();
}

void ApplicationJson(JsonWriter& w, const ApplicationRightSizing& a) {
  const ApplicationEvidence& e = a.evidence;
  w.BeginObject();
  w.Key("application").String(e.application);
  w.Key("replicas").Int(a.replicas);
  w.Key("pool_min").Int(a.pool_min);
  w.Key("pool_max").Int(a.pool_max);
  w.Key("busy_peak_connections");
  OptionalDouble(w, e.busy_peak);
  w.Key("busy_median_connections");
  OptionalDouble(w, e.busy_median);
  w.Key("saturated").Bool(a.saturated);
  w.Key("saturated_seconds").Double(a.saturated_seconds);
  w.Key("recommended_pool_max").Int(a.recommended_pool_max);
  w.Key("recommended_pool_min").Int(a.recommended_pool_min);
  w.Key("state").String(SizingStateName(a.state));
  w.Key("rule_pool_max")
      .OptionalInt(a.rule ? std::optional<int64_t>(a.rule->pool_max)
                          : std::nullopt);
  w.Key("rule_pool_min")
      .OptionalInt(a.rule ? std::optional<int64_t>(a.rule->pool_min)
                          : std::nullopt);
  w.Key("held_back").Bool(a.held_back);
  w.Key("busy_samples").Double(e.busy_samples);
  w.Key("insufficient_history");
  Strings(w, a.insufficient);
  w.Key("notes");
  Strings(w, a.notes);
  w.EndObject();
}

// The ways out where the recommended budget does not fit.
void OptionsJson(JsonWriter& w, const TargetRightSizing& t) {
  const Plan& p = *t.options;
  w.BeginObject();
  w.Key("reduce_pool_max").BeginArray();
  for (const ReducePoolOption& r : t.reduce) {
    w.BeginObject();
    w.Key("application").String(r.application);
    w.Key("pool_max").OptionalInt(r.pool_max);
    w.Key("busy_peak_per_worker").Double(r.busy_peak_per_worker);
    w.EndObject();
  }
  w.EndArray();
  w.Key("raise_max_connections").BeginObject();
  w.Key("max_connections").Int(p.raise_max_connections.max_connections);
  w.Key("additional_connections")
      .Int(p.raise_max_connections.additional_connections);
  w.Key("additional_memory_bytes")
      .Int(p.raise_max_connections.additional_memory_bytes);
  w.EndObject();
  w.Key("use_pgbouncer").BeginObject();
  w.Key("default_pool_size").Int(p.use_pgbouncer.pool_size);
  w.Key("server_connections").Int(p.use_pgbouncer.server_connections);
  w.Key("verdict").String(VerdictName(p.use_pgbouncer.verdict));
  w.EndObject();
  w.EndObject();
}

// Every PromQL query the numbers came from.
void EvidenceJson(JsonWriter& w, const std::vector<EvidenceQuery>& queries) {
  w.BeginArray();
  for (const EvidenceQuery& q : queries) {
    w.BeginObject();
    w.Key("quantity").String(q.quantity);
    w.Key("promql").String(q.promql);
    w.EndObject();
  }
  w.EndArray();
}

void TargetJson(JsonWriter& w, const RightSizingRun& run,
                const TargetRightSizing& t) {
  // Long: one key per line, in the order of docs/planner.md's JSON.
  const TargetEvidence& e = t.evidence;
  w.BeginObject();
  w.Key("target").String(e.target);
  w.Key("verdict").String(VerdictName(t.verdict));
  w.Key("declared_verdict").String(VerdictName(t.declared_verdict));
  w.Key("usable_connections").Int(t.usable);
  w.Key("max_connections").Int(t.max_connections);
  w.Key("reserved_connections").Int(t.reserved);
  w.Key("headroom_ratio").Double(t.headroom);
  w.Key("headroom_connections").Int(t.headroom_connections);
  w.Key("overhead_connections").Int(t.overhead);
  w.Key("monitoring_agents").Int(t.monitoring_agents);
  w.Key("recommended_total_connections").Int(t.recommended_total);
  w.Key("declared_total_connections").Int(t.declared_total);
  w.Key("exhaustion_eta_seconds");
  OptionalDouble(w, t.exhaustion_eta_seconds);
  w.Key("exhaustion_time");
  if (t.exhaustion_eta_seconds) {
    w.String(FormatRfc3339(run.end_unix + *t.exhaustion_eta_seconds));
  } else {
    w.Null();
  }
  w.Key("used_slope_per_second");
  OptionalDouble(w, e.used_slope_per_second);
  w.Key("used_line_at_end_connections");
  OptionalDouble(w, e.used_line_at_end);
  w.Key("used_connections");
  OptionalDouble(w, e.used_last);
  w.Key("used_peak_connections");
  OptionalDouble(w, e.used_peak);
  w.Key("peak_window_seconds");
  OptionalDouble(w, e.peak_window_seconds);
  w.Key("first_sample_time");
  if (e.first_sample_unix) {
    w.String(FormatRfc3339(*e.first_sample_unix));
  } else {
    w.Null();
  }
  w.Key("up_ratio");
  OptionalDouble(w, e.up_ratio);
  w.Key("scrape_up_ratio");
  OptionalDouble(w, e.scrape_up_ratio);
  w.Key("evidence_complete").Bool(t.evidence_complete);
  w.Key("insufficient_history");
  Strings(w, t.insufficient);
  w.Key("pgbouncer_default_pool_size").Int(t.pgbouncer_pool_size);
  w.Key("applications").BeginArray();
  for (const ApplicationRightSizing& a : t.applications) ApplicationJson(w, a);
  w.EndArray();
  w.Key("options");
  if (t.options) {
    OptionsJson(w, t);
  } else {
    w.Null();
  }
  w.Key("notes");
  Strings(w, t.notes);
  w.Key("evidence");
  EvidenceJson(w, e.queries);
  w.EndObject();
}

}  // namespace

void WriteRightSizingTable(const RightSizingRun& run,
                           const std::vector<TargetRightSizing>& targets,
                           std::ostream& out) {
  out << "Right-sizing from " << run.source << "\n";
  out << "  window  " << HumanDuration(run.window_seconds) << ", "
      << FormatRfc3339(run.end_unix - run.window_seconds) << " to "
      << FormatRfc3339(run.end_unix) << " (--window, --end)\n";
  out << "  rule    DB_POOL_MAX = max(1, ceil(busy peak / replicas x (1 + "
      << Number(run.margin) << "))); saturated: max(DB_POOL_MAX + 1, "
      << "ceil(DB_POOL_MAX x (1 + " << Number(run.margin) << ")))\n"
      << "          DB_POOL_MIN = min(DB_POOL_MAX, ceil(busy median / "
         "replicas)) (--margin)\n";
  for (const std::string& n : run.notes) out << "  - " << n << "\n";
  for (const TargetRightSizing& t : targets) WriteTargetTable(run, t, out);
}

void WriteRightSizingJson(const RightSizingRun& run,
                          const std::vector<TargetRightSizing>& targets,
                          std::ostream& out) {
  JsonWriter w;
  w.BeginObject();
  w.Key("source").String(run.source);
  w.Key("start").String(FormatRfc3339(run.end_unix - run.window_seconds));
  w.Key("end").String(FormatRfc3339(run.end_unix));
  w.Key("window_seconds").Double(run.window_seconds);
  w.Key("margin").Double(run.margin);
  w.Key("notes");
  Strings(w, run.notes);
  w.Key("targets").BeginArray();
  for (const TargetRightSizing& t : targets) TargetJson(w, run, t);
  w.EndArray();
  w.EndObject();
  out << w.Take() << "\n";
}

void WriteRightSizingEnv(const RightSizingRun& run,
                         const std::vector<TargetRightSizing>& targets,
                         std::ostream& out) {
  bool first = true;
  for (const TargetRightSizing& t : targets) {
    for (const ApplicationRightSizing& a : t.applications) {
      const ApplicationEvidence& e = a.evidence;
      if (!first) out << "\n";
      first = false;
      out << "# " << e.application << " on target " << t.evidence.target
          << ": pgconn-agent plan --from-prometheus=" << run.source << "\n"
          << "# window " << HumanDuration(run.window_seconds) << " ending "
          << FormatRfc3339(run.end_unix) << ", margin " << Percent(run.margin)
          << ", " << a.replicas << " replicas\n";
      if (a.state == SizingState::kZeroReplicas) {
        out << "# 0 replicas: not sized; the declaration is DB_POOL_MIN="
            << a.pool_min << " DB_POOL_MAX=" << a.pool_max << "\n";
        continue;
      }
      if (a.state == SizingState::kNoSamples) {
        out << "# no busy samples in the window: the declared values are "
               "kept\n";
      } else {
        out << "# DB_POOL_MAX " << a.pool_max << " -> "
            << a.recommended_pool_max << ": busy peak "
            << Number(e.busy_peak.value_or(0))
            << (a.saturated ? " (saturated: pools full for " +
                                  HumanDuration(a.saturated_seconds) + ")"
                            : std::string())
            << "\n# DB_POOL_MIN " << a.pool_min << " -> "
            << a.recommended_pool_min << ": busy median "
            << (e.busy_median ? Number(*e.busy_median) : std::string("-"))
            << "\n";
        if (a.held_back) {
          out << "# too little history: nothing lowered below the declared "
                 "values\n";
        }
      }
      out << "DB_POOL_MIN=" << a.recommended_pool_min << "\n"
          << "DB_POOL_MAX=" << a.recommended_pool_max << "\n";
    }
  }
}

}  // namespace pgconn
