// Writing the plan and the scale table: a text table or JSON.
#include "plan/plan_output.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

#include "collect/collector.h"
#include "config/dsn.h"
#include "config/guide_env.h"
#include "plan/env_file.h"
#include "plan/from_prometheus.h"
#include "plan/planner.h"
#include "plan/time_text.h"
#include "postgres/observations.h"
#include "postgres/registry.h"
#include "util/json_writer.h"
#include "util/numbers.h"

namespace pgconn::detail {
namespace {

std::string Plural(int64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string Percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %%", ratio * 100);
  return buf;
}

std::string HeadroomText(double headroom) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g %%", headroom * 100);
  return buf;
}

// Rows of label, value and detail; a detail that does not fit beside the
// value goes on the next line, under it.
class TextTable {
 public:
  explicit TextTable(std::ostream& out) : out_(out) {}

  void Row(std::string_view label, const std::string& value,
           const std::string& detail = "") {
    std::string line = Pad("  " + std::string(label), kValueColumn) + value;
    if (!detail.empty()) {
      if (value.size() < kValueWidth) {
        line = Pad(line, kValueColumn + kValueWidth) + detail;
      } else {
        line += "\n" + std::string(kValueColumn, ' ') + detail;
      }
    }
    out_ << line << "\n";
  }

  // An option: its name and setting, then one line per consequence.
  void Block(std::string_view label, const std::string& value,
             const std::vector<std::string>& lines) {
    out_ << Pad("  " + std::string(label), kBlockColumn) << value << "\n";
    for (const std::string& l : lines) {
      out_ << std::string(kBlockColumn, ' ') << l << "\n";
    }
  }

 private:
  static constexpr size_t kValueColumn = 24;
  static constexpr size_t kValueWidth = 9;
  static constexpr size_t kBlockColumn = 29;

  static std::string Pad(std::string s, size_t width) {
    s.resize(std::max(s.size() + 1, width), ' ');
    return s;
  }
  std::ostream& out_;
};

std::string VerdictText(const Plan& p) {
  const std::string t = std::to_string(p.total_connections);
  switch (p.verdict) {
    case Verdict::kOk:
      return t + " <= " + std::to_string(p.headroom_connections) +
             ": fits under the headroom line";
    case Verdict::kOverHeadroom:
      return t + " > " + std::to_string(p.headroom_connections) +
             ": past the headroom line, within the " +
             std::to_string(p.usable_connections) + " usable";
    case Verdict::kOverLimit:
      return t + " > " + std::to_string(p.usable_connections) +
             " usable: full pools are refused (\"sorry, too many clients "
             "already\")";
  }
  return "";
}

void WriteFindingsAndNotes(const std::vector<Finding>& findings,
                           const std::vector<std::string>& notes,
                           std::ostream& out) {
  if (!findings.empty()) {
    out << "\nFindings\n";
    for (const Finding& f : findings) {
      out << "  " << FindingSeverityName(f.severity) << ": " << f.where << ": "
          << f.message << "\n";
    }
  }
  if (!notes.empty()) {
    out << "\nNotes\n";
    for (const std::string& n : notes) out << "  - " << n << "\n";
  }
}

std::string Times(int64_t a, int64_t b) {
  return std::to_string(a) + " \u00d7 " + std::to_string(b);
}

// The overhead and, when there are any, the monitoring agents: "20 + 1 agent".
std::string FixedText(const PlanInput& i) {
  std::string text = std::to_string(i.overhead);
  if (i.monitoring_agents > 0) {
    text += " + " + Plural(i.monitoring_agents, "agent");
  }
  return text;
}

void WriteInputsText(const Inputs& in, TextTable& t) {
  const PlanInput& i = in.plan;
  auto source = [&](const std::string& field) {
    auto it = in.sources.find(field);
    return it == in.sources.end() ? std::string() : it->second.text;
  };
  t.Row("workers", std::to_string(i.workers), source("workers"));
  t.Row("DB_POOL_MAX", std::to_string(i.pool_max), source("pool_max"));
  t.Row("DB_POOL_MIN", std::to_string(i.pool_min), source("pool_min"));
  t.Row("overhead", std::to_string(i.overhead), source("overhead"));
  t.Row("monitoring agents", std::to_string(i.monitoring_agents),
        source("monitoring_agents"));
  t.Row("max_connections", std::to_string(i.max_connections),
        source("max_connections"));
  t.Row("reserved", std::to_string(i.reserved), source("reserved"));
  t.Row("headroom", HeadroomText(i.headroom), source("headroom"));
  if (!in.worker_env) return;
  const WorkerEnv& env = *in.worker_env;
  if (env.max_queries) {
    t.Row("DB_MAX_QUERIES", std::to_string(*env.max_queries),
          "queries before a connection is replaced");
  }
  if (env.max_idle_time_seconds) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g s", *env.max_idle_time_seconds);
    t.Row("DB_MAX_IDLE_TIME", buf, "idle time before a connection closes");
  }
}

void WriteOptionsText(const Plan& p, TextTable& t) {
  const PlanInput& i = p.input;
  const ReducePoolMaxOption& r = p.reduce_pool_max;
  if (r.pool_max) {
    t.Block("1. reduce_pool_max", "DB_POOL_MAX=" + std::to_string(*r.pool_max),
            {"the largest that fits: " + Times(i.workers, *r.pool_max) + " + " +
             FixedText(i) + " = " + std::to_string(r.total_connections) +
             " connections, " + Percent(r.utilization_ratio) + " of usable"});
  } else {
    t.Block("1. reduce_pool_max", "none fits",
            {"even DB_POOL_MAX=1 gives " + Times(i.workers, 1) + " + " +
             FixedText(i) + " = " +
             std::to_string(i.workers + p.fixed_connections) + " > " +
             std::to_string(p.headroom_connections)});
  }
  const RaiseMaxConnectionsOption& m = p.raise_max_connections;
  std::vector<std::string> raise;
  if (m.additional_connections == 0) {
    raise.push_back("the least that fits; the current " +
                    std::to_string(i.max_connections) + " already does");
  } else {
    raise.push_back("the least that fits: +" +
                    std::to_string(m.additional_connections) +
                    " connections; needs a PostgreSQL restart");
    raise.push_back("about +" + FormatMemory(m.additional_memory_bytes) +
                    " of server memory at " +
                    FormatMemory(i.memory_per_connection_bytes) +
                    " per connection");
  }
  if (m.beyond_postgres_limit) {
    raise.push_back("beyond PostgreSQL's largest max_connections, 262143");
  }
  t.Block("2. raise_max_connections",
          "max_connections=" + std::to_string(m.max_connections), raise);
  const PgBouncerOption& b = p.use_pgbouncer;
  std::vector<std::string> bouncer = {
      std::to_string(b.server_connections) + " connections to PostgreSQL, " +
          Percent(b.utilization_ratio) + " of usable (" +
          std::string(VerdictName(b.verdict)) + ")",
      "workers keep " + Times(i.workers, b.client_pool_max) + " = " +
          std::to_string(b.logical_connections) + " logical connections " +
          (b.logical_fit ? "(max_client_conn "
                         : "(more than max_client_conn ") +
          std::to_string(b.max_client_conn) + ")"};
  if (b.recommended) {
    bouncer.push_back("the guide recommends PgBouncer from 10 workers");
  }
  t.Block("3. use_pgbouncer",
          "default_pool_size=" + std::to_string(b.pool_size), bouncer);
}

}  // namespace

void WritePlanText(const Plan& p, const Inputs& in, std::ostream& out) {
  const PlanInput& i = p.input;
  TextTable t(out);
  out << "Capacity plan: " << Plural(i.workers, "worker")
      << " \u00d7 DB_POOL_MAX " << i.pool_max << " against max_connections "
      << i.max_connections << "\n\nInputs\n";
  WriteInputsText(in, t);
  out << "\nBudget\n";
  t.Row("total connections", std::to_string(p.total_connections),
        Plural(i.workers, "worker") + " \u00d7 DB_POOL_MAX " +
            std::to_string(i.pool_max) + " + overhead " + FixedText(i));
  t.Row("kept open when idle", std::to_string(p.min_connections),
        Plural(i.workers, "worker") + " \u00d7 DB_POOL_MIN " +
            std::to_string(i.pool_min));
  t.Row("usable connections", std::to_string(p.usable_connections),
        "max_connections " + std::to_string(i.max_connections) +
            " - reserved " + std::to_string(i.reserved));
  t.Row("headroom line", std::to_string(p.headroom_connections),
        HeadroomText(i.headroom) + " of " +
            std::to_string(p.usable_connections) + ", rounded down");
  t.Row("utilization", Percent(p.utilization_ratio), "of usable");
  t.Row("verdict", std::string(VerdictName(p.verdict)), VerdictText(p));
  out << "\nOptions\n";
  WriteOptionsText(p, t);
  WriteFindingsAndNotes(in.findings, in.notes, out);
}

namespace {

void WriteFindingsAndNotesJson(const std::vector<Finding>& findings,
                               const std::vector<std::string>& notes,
                               JsonWriter& w) {
  w.Key("findings").BeginArray();
  for (const Finding& f : findings) {
    w.BeginObject()
        .Key("severity")
        .String(FindingSeverityName(f.severity))
        .Key("variable")
        .String(f.variable)
        .Key("where")
        .String(f.where)
        .Key("message")
        .String(f.message)
        .EndObject();
  }
  w.EndArray();
  w.Key("notes").BeginArray();
  for (const std::string& n : notes) w.String(n);
  w.EndArray();
}

// The inputs the plan was made from, and where each came from.
void InputsJson(const Plan& p, const Inputs& in, JsonWriter& w) {
  const PlanInput& i = p.input;
  w.BeginObject();
  w.Key("workers").Int(i.workers);
  w.Key("pool_max").Int(i.pool_max);
  w.Key("pool_min").Int(i.pool_min);
  w.Key("overhead").Int(i.overhead);
  w.Key("monitoring_agents").Int(i.monitoring_agents);
  w.Key("max_connections").Int(i.max_connections);
  w.Key("reserved").Int(i.reserved);
  w.Key("headroom_ratio").Double(i.headroom);
  w.Key("memory_per_connection_bytes").Int(i.memory_per_connection_bytes);
  w.Key("pgbouncer_pool_size").Int(i.pgbouncer_pool_size);
  w.Key("pgbouncer_pool_max").Int(p.use_pgbouncer.client_pool_max);
  w.Key("pgbouncer_max_client_conn").Int(i.pgbouncer_max_client_conn);
  w.Key("sources").BeginObject();
  for (const auto& [field, source] : in.sources)
    w.Key(field).String(source.kind);
  w.EndObject();
  w.EndObject();
}

// The three ways to fit: smaller pools, more max_connections, PgBouncer.
void OptionsJson(const Plan& p, JsonWriter& w) {
  w.BeginArray();
  const ReducePoolMaxOption& r = p.reduce_pool_max;
  w.BeginObject().Key("kind").String("reduce_pool_max");
  w.Key("pool_max").OptionalInt(r.pool_max);
  if (r.pool_max) {
    w.Key("total_connections").Int(r.total_connections);
    w.Key("utilization_ratio").Double(r.utilization_ratio);
  } else {
    w.Key("total_connections").Null();
    w.Key("utilization_ratio").Null();
  }
  w.EndObject();
  const RaiseMaxConnectionsOption& m = p.raise_max_connections;
  w.BeginObject().Key("kind").String("raise_max_connections");
  w.Key("max_connections").Int(m.max_connections);
  w.Key("additional_connections").Int(m.additional_connections);
  w.Key("additional_memory_bytes").Int(m.additional_memory_bytes);
  w.Key("total_memory_bytes").Int(m.total_memory_bytes);
  w.Key("restart_required").Bool(m.additional_connections > 0);
  w.Key("beyond_postgres_limit").Bool(m.beyond_postgres_limit);
  w.EndObject();
  const PgBouncerOption& b = p.use_pgbouncer;
  w.BeginObject().Key("kind").String("use_pgbouncer");
  w.Key("default_pool_size").Int(b.pool_size);
  w.Key("server_connections").Int(b.server_connections);
  w.Key("utilization_ratio").Double(b.utilization_ratio);
  w.Key("verdict").String(VerdictName(b.verdict));
  w.Key("pool_max").Int(b.client_pool_max);
  w.Key("logical_connections").Int(b.logical_connections);
  w.Key("max_client_conn").Int(b.max_client_conn);
  w.Key("logical_connections_fit").Bool(b.logical_fit);
  w.Key("recommended").Bool(b.recommended);
  w.EndObject();
  w.EndArray();
}

}  // namespace

void WritePlanJson(const Plan& p, const Inputs& in, std::ostream& out) {
  JsonWriter w;
  w.BeginObject();
  w.Key("total_connections").Int(p.total_connections);
  w.Key("usable_connections").Int(p.usable_connections);
  w.Key("utilization_ratio").Double(p.utilization_ratio);
  w.Key("verdict").String(VerdictName(p.verdict));
  w.Key("headroom_connections").Int(p.headroom_connections);
  w.Key("worker_connections").Int(p.worker_connections);
  w.Key("min_connections").Int(p.min_connections);
  w.Key("inputs");
  InputsJson(p, in, w);
  w.Key("options");
  OptionsJson(p, w);
  WriteFindingsAndNotesJson(in.findings, in.notes, w);
  w.EndObject();
  out << w.Take();
}

void WriteScaleText(const std::vector<ScaleRow>& rows, const Inputs& in,
                    std::ostream& out) {
  const PlanInput& i = in.plan;
  const int64_t usable = i.max_connections - i.reserved;
  out << "Scale table: DB_POOL_MAX " << i.pool_max << ", overhead "
      << FixedText(i) << ", max_connections " << i.max_connections
      << " (reserved " << i.reserved << ", " << usable
      << " usable, headroom line " << HeadroomConnections(usable, i.headroom)
      << ")\n\n";
  char line[160];
  std::snprintf(line, sizeof(line), "  %7s  %7s  %9s  %-13s  %s\n", "workers",
                "total", "of usable", "verdict",
                "largest DB_POOL_MAX that fits");
  out << line;
  for (const ScaleRow& r : rows) {
    const std::string largest = r.largest_pool_max
                                    ? std::to_string(*r.largest_pool_max)
                                    : std::string("none");
    std::snprintf(line, sizeof(line), "  %7lld  %7lld  %9s  %-13s  %s\n",
                  static_cast<long long>(r.workers),
                  static_cast<long long>(r.total_connections),
                  Percent(r.utilization_ratio).c_str(),
                  std::string(VerdictName(r.verdict)).c_str(), largest.c_str());
    out << line;
  }
  WriteFindingsAndNotes(in.findings, in.notes, out);
}

void WriteScaleJson(const std::vector<ScaleRow>& rows, const Inputs& in,
                    std::ostream& out) {
  const PlanInput& i = in.plan;
  const int64_t usable = i.max_connections - i.reserved;
  JsonWriter w;
  w.BeginObject();
  w.Key("pool_max").Int(i.pool_max);
  w.Key("overhead").Int(i.overhead);
  w.Key("monitoring_agents").Int(i.monitoring_agents);
  w.Key("max_connections").Int(i.max_connections);
  w.Key("reserved").Int(i.reserved);
  w.Key("usable_connections").Int(usable);
  w.Key("headroom_ratio").Double(i.headroom);
  w.Key("headroom_connections").Int(HeadroomConnections(usable, i.headroom));
  w.Key("rows").BeginArray();
  for (const ScaleRow& r : rows) {
    w.BeginObject()
        .Key("workers")
        .Int(r.workers)
        .Key("total_connections")
        .Int(r.total_connections)
        .Key("utilization_ratio")
        .Double(r.utilization_ratio)
        .Key("verdict")
        .String(VerdictName(r.verdict))
        .Key("largest_pool_max")
        .OptionalInt(r.largest_pool_max)
        .EndObject();
  }
  w.EndArray();
  WriteFindingsAndNotesJson(in.findings, in.notes, w);
  w.EndObject();
  out << w.Take();
}

}  // namespace pgconn::detail
