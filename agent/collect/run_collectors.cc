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
                           double seconds, Snapshot* out) {
  CollectorOutcome o;
  o.name = std::string(c.name());
  o.duration_seconds = seconds;
  Status s = c.Parse(rs, out);
  o.success = s.ok();
  if (!s.ok()) o.error = s.message();
  return o;
}

Result<double> ServerClock(const ResultSet& rs) {
  if (rs.size() != 1 || rs.rows()[0].empty() || !rs.rows()[0][0]) {
    return Status::InvalidData("server clock: expected one value");
  }
  return ParseDouble(*rs.rows()[0][0]);
}

}  // namespace

Status RunCollectors(Session& session,
                     const std::vector<const Collector*>& collectors,
                     const CollectorContext& ctx, const RunOptions& options,
                     Deadline deadline, const Clock& clock, Snapshot* out) {
  out->collectors.clear();
  if (options.batch && collectors.size() > 1) {
    // clock; statement 1; clock; statement 2; clock; ...
    std::string sql = std::string(kClockStatement) + ";\n";
    for (const Collector* c : collectors) {
      sql += c->Statement(ctx);
      sql += ";\n";
      sql += kClockStatement;
      sql += ";\n";
    }
    auto results = session.Execute(sql, deadline);
    if (results.ok() && results->size() == 2 * collectors.size() + 1) {
      for (size_t i = 0; i < collectors.size(); ++i) {
        auto before = ServerClock((*results)[2 * i]);
        auto after = ServerClock((*results)[2 * i + 2]);
        const double secs =
            before.ok() && after.ok() ? std::max(0.0, *after - *before) : 0.0;
        out->collectors.push_back(
            ParseInto(*collectors[i], (*results)[2 * i + 1], secs, out));
      }
      return Status::Ok();
    }
    if (!results.ok() && !IsStatementError(results.status())) {
      return results.status();
    }
    // One statement failed and took the batch with it: isolate it.
  }
  for (const Collector* c : collectors) {
    const auto start = clock.Monotonic();
    auto results = session.Execute(c->Statement(ctx), deadline);
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
    out->collectors.push_back(ParseInto(*c, (*results)[0], secs, out));
  }
  return Status::Ok();
}

}  // namespace pgconn
