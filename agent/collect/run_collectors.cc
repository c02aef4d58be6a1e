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

std::string TaggedStatement(const Collector& c, const CollectorContext& ctx,
                            const RunOptions& options) {
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
                     const CollectorContext& ctx, const RunOptions& options,
                     Deadline deadline, const Clock& clock, Snapshot* out,
                     std::string* batch_problem) {
  out->collectors.clear();
  if (batch_problem != nullptr) batch_problem->clear();
  if (options.batch && collectors.size() > 1) {
    // clock; statement 1; clock; statement 2; clock; ...
    std::string sql = std::string(kClockStatement) + ";\n";
    for (const Collector* c : collectors) {
      sql += TaggedStatement(*c, ctx, options);
      sql += ";\n";
      sql += kClockStatement;
      sql += ";\n";
    }
    auto results = session.Execute(sql, deadline);
    const size_t expected = 2 * collectors.size() + 1;
    if (results.ok() && results->size() == expected) {
      for (size_t i = 0; i < collectors.size(); ++i) {
        auto before = ServerClock((*results)[2 * i]);
        auto after = ServerClock((*results)[2 * i + 2]);
        const double secs =
            before.ok() && after.ok() ? std::max(0.0, *after - *before) : 0.0;
        out->collectors.push_back(
            ParseInto(*collectors[i], (*results)[2 * i + 1], ctx, secs, out));
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
    auto results = session.Execute(TaggedStatement(*c, ctx, options), deadline);
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
