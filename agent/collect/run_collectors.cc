#include <algorithm>

#include "collect/collector.h"

namespace pgconn {
namespace {

// Between the collectors' statements the batch asks the server for the time,
// so that each collector's duration is what the server spent on it, not an
// artefact of how the results happened to arrive in one network read.
constexpr char kClockStatement[] =
    "SELECT extract(epoch FROM clock_timestamp()) AS server_clock";

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Errors after which the session is still usable and each collector may be
// tried alone.
bool IsStatementError(const Status& s) {
  return s.code() == StatusCode::kQueryFailed ||
         s.code() == StatusCode::kInvalidData;
}

CollectorOutcome ParseInto(const Collector& c, const ResultSet& rs,
                           const CollectorContext& ctx, double seconds,
                           Snapshot* out) {
  CollectorOutcome o;
  o.name = std::string(c.name());
  o.duration_seconds = seconds;
  auto parsed = c.ParseIn(rs, ctx);
  o.success = parsed.ok();
  if (parsed.ok()) {
    out->Put(c.name(), std::move(*parsed));
  } else {
    o.error = parsed.status().message();
  }
  return o;
}

Result<double> ServerClock(const ResultSet& rs) {
  if (rs.size() != 1 || rs.rows()[0].empty() || !rs.rows()[0][0]) {
    return Status::InvalidData("server clock: expected one value");
  }
  return ParseDouble(*rs.rows()[0][0]);
}

// One distinct statement of a batch and the collectors that share it.
struct SharedStatement {
  std::string sql;                 // with each sharing collector's tag
  std::vector<size_t> collectors;  // indices into the poll's collectors
};

std::vector<SharedStatement> DistinctStatements(
    const std::vector<const Collector*>& collectors,
    const CollectorContext& ctx, const RunOptions& options) {
  std::vector<SharedStatement> out;
  std::vector<std::string> untagged;
  std::vector<std::string> tags;
  for (size_t i = 0; i < collectors.size(); ++i) {
    std::string sql = collectors[i]->Statement(ctx);
    const std::string tag = StatementTag(collectors[i]->name());
    auto it = std::find(untagged.begin(), untagged.end(), sql);
    if (it != untagged.end()) {
      const size_t k = static_cast<size_t>(it - untagged.begin());
      out[k].collectors.push_back(i);
      tags[k] += tag;
      continue;
    }
    untagged.push_back(std::move(sql));
    tags.push_back(tag);
    out.push_back({"", {i}});
  }
  for (size_t k = 0; k < out.size(); ++k) {
    out[k].sql = options.tag ? tags[k] + untagged[k] : std::move(untagged[k]);
  }
  return out;
}

// Collector `c`'s statement when it runs alone: shared parts of other
// collectors left out, so that one failing part blinds no other collector.
std::string StatementAlone(const Collector& c, CollectorContext ctx,
                           const RunOptions& options) {
  ctx.collectors = {std::string(c.name())};
  if (!options.tag) return c.Statement(ctx);
  return StatementTag(c.name()) + c.Statement(ctx);
}

}  // namespace

std::string StatementTag(std::string_view collector) {
  return "/* pgconn:" + std::string(collector) + " */ ";
}

const CollectorEntry* FindCollectorEntry(
    const std::vector<CollectorEntry>& table, std::string_view name) {
  for (const CollectorEntry& e : table) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::vector<std::unique_ptr<Collector>> EnabledCollectors(
    const std::vector<CollectorEntry>& table,
    const std::map<std::string, bool, std::less<>>& switches) {
  std::vector<std::unique_ptr<Collector>> out;
  for (const CollectorEntry& e : table) {
    auto it = switches.find(e.name);
    const bool on = it == switches.end() ? e.enabled_by_default : it->second;
    if (on) out.push_back(e.create());
  }
  return out;
}

Status RunCollectors(Session& session,
                     const std::vector<const Collector*>& collectors,
                     const CollectorContext& context, const RunOptions& options,
                     Deadline deadline, const Clock& clock, Snapshot* out,
                     std::string* batch_problem) {
  out->collectors.clear();
  if (batch_problem != nullptr) batch_problem->clear();
  CollectorContext ctx = context;
  ctx.collectors.clear();
  for (const Collector* c : collectors) {
    ctx.collectors.emplace_back(c->name());
  }
  if (options.batch && collectors.size() > 1) {
    const std::vector<SharedStatement> statements =
        DistinctStatements(collectors, ctx, options);
    // clock; statement 1; clock; statement 2; clock; ...
    std::string sql = std::string(kClockStatement) + ";\n";
    for (const SharedStatement& st : statements) {
      sql += st.sql;
      sql += ";\n";
      sql += kClockStatement;
      sql += ";\n";
    }
    auto results = session.Execute(sql, deadline);
    const size_t expected = 2 * statements.size() + 1;
    if (results.ok() && results->size() == expected) {
      // Outcomes in the collectors' order, whatever statement they shared.
      std::vector<CollectorOutcome> outcomes(collectors.size());
      for (size_t k = 0; k < statements.size(); ++k) {
        auto before = ServerClock((*results)[2 * k]);
        auto after = ServerClock((*results)[2 * k + 2]);
        const double secs =
            before.ok() && after.ok() ? std::max(0.0, *after - *before) : 0.0;
        for (size_t i : statements[k].collectors) {
          outcomes[i] =
              ParseInto(*collectors[i], (*results)[2 * k + 1], ctx, secs, out);
        }
      }
      for (CollectorOutcome& o : outcomes) {
        out->collectors.push_back(std::move(o));
      }
      return Status::Ok();
    }
    if (!results.ok() && !IsStatementError(results.status())) {
      return results.status();
    }
    if (results.ok() && batch_problem != nullptr) {
      // Something between us and the server (a pooler in statement mode, a
      // proxy) split or swallowed statements.
      *batch_problem = "batch returned " + std::to_string(results->size()) +
                       " results, expected " + std::to_string(expected) +
                       "; running the collectors one by one";
    }
    // One statement failed and took the batch with it: isolate it.
  }
  for (const Collector* c : collectors) {
    const auto start = clock.Monotonic();
    auto results = session.Execute(StatementAlone(*c, ctx, options), deadline);
    const double secs = Seconds(clock.Monotonic() - start);
    if (!results.ok()) {
      if (!IsStatementError(results.status())) return results.status();
      out->collectors.push_back(
          {std::string(c->name()), false, secs, results.status().message()});
      continue;
    }
    if (results->size() != 1) {
      out->collectors.push_back(
          {std::string(c->name()), false, secs,
           "expected one result, got " + std::to_string(results->size())});
      continue;
    }
    out->collectors.push_back(ParseInto(*c, (*results)[0], ctx, secs, out));
  }
  return Status::Ok();
}

}  // namespace pgconn
