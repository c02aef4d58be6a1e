#include <algorithm>
#include <cstdint>

#include "collect/collector.h"

namespace pgconn {
namespace {

// Between the collectors' statements the batch asks the server for the time,
// so that each collector's duration is what the server spent on it, not an
// artefact of how the results happened to arrive in one network read.
constexpr char kClockStatement[] =
    "SELECT extract(epoch FROM clock_timestamp()) AS server_clock";
// The same, prepared.
constexpr char kClockName[] = "pgconn_server_clock";

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
  const std::optional<std::string_view> value =
      rs.size() == 1 ? rs.cell(0, 0) : std::nullopt;
  if (!value) return Status::InvalidData("server clock: expected one value");
  return ParseDouble(*value);
}

// One distinct statement of a batch and the collectors that share it.
struct SharedStatement {
  std::string tags;  // each sharing collector's tag
  // Untagged: the statement as it is, or its parameterized form when the
  // session prepares statements.
  ParameterizedStatement form;
  std::vector<size_t> collectors;  // indices into the poll's collectors
};

// Each collector's statement built once, identical ones shared.
std::vector<SharedStatement> DistinctStatements(
    const std::vector<const Collector*>& collectors,
    const CollectorContext& ctx, const RunOptions& options,
    bool parameterized) {
  std::vector<SharedStatement> out;
  for (size_t i = 0; i < collectors.size(); ++i) {
    ParameterizedStatement form =
        parameterized
            ? collectors[i]->Parameterized(ctx)
            : ParameterizedStatement{collectors[i]->Statement(ctx), {}, {}};
    const std::string tag =
        options.tag ? StatementTag(collectors[i]->name()) : std::string();
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& st) {
      return st.form.sql == form.sql;
    });
    if (it != out.end()) {
      it->collectors.push_back(i);
      it->tags += tag;
      continue;
    }
    out.push_back({tag, std::move(form), {i}});
  }
  return out;
}

// The name a statement is prepared under: a hash of its text and parameter
// types, so that a statement whose text changed (a reload) is prepared anew
// rather than confused with the old one.
std::string PreparedName(const ParameterizedStatement& p) {
  uint64_t h = 14695981039346656037ULL;  // 64-bit FNV-1a
  auto mix = [&h](std::string_view text) {
    for (unsigned char c : text) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;  // a separator no text contains
    h *= 1099511628211ULL;
  };
  mix(p.sql);
  for (const std::string& t : p.parameter_types) mix(t);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = "pgconn_";
  for (int shift = 60; shift >= 0; shift -= 4) name += kHex[(h >> shift) & 15];
  return name;
}

// "(a, b)" for a non-empty list, "" for an empty one.
std::string Parenthesized(const std::vector<std::string>& items) {
  if (items.empty()) return "";
  std::string out = "(";
  for (const std::string& x : items) {
    if (out.size() > 1) out += ", ";
    out += x;
  }
  out += ')';
  return out;
}

// What the settings that shape the batch's statements were: the
// collectors, the context's fields but the previous scan's time, and the
// options.
std::string BatchKey(const std::vector<const Collector*>& collectors,
                     const CollectorContext& ctx, const RunOptions& options) {
  std::string key = options.tag ? "tag" : "-";
  for (const Collector* c : collectors) {
    key += '\0';
    key += c->name();
  }
  for (int v : {ctx.max_applications, ctx.max_users, ctx.max_databases,
                ctx.server_version_num}) {
    key += '\0';
    key += std::to_string(v);
  }
  for (const std::string& p : ctx.pinned_applications) {
    key += '\0';
    key += p;
  }
  return key;
}

// The batch of a session that prepares statements: each distinct statement
// prepared once per connection (one more round trip, on the connection's
// first poll or after a reload changed a statement) and executed by name
// afterwards, so that the server does not plan it again at every poll. A
// statement the server does not prepare is sent as it is from then on, on
// that connection. Fails only when the session does.
Result<PreparedStatements::Batch> PrepareBatch(
    Session& session, PreparedStatements* prepared,
    const std::vector<SharedStatement>& statements, Deadline deadline) {
  // The statements, then the clock: each with its tags, name and form.
  std::vector<const std::string*> tags;
  std::vector<const ParameterizedStatement*> forms;
  std::vector<std::string> names;
  for (const SharedStatement& st : statements) {
    tags.push_back(&st.tags);
    forms.push_back(&st.form);
    names.push_back(PreparedName(st.form));
  }
  const std::string no_tags;
  const ParameterizedStatement clock{kClockStatement, {}, {}};
  tags.push_back(&no_tags);
  forms.push_back(&clock);
  names.emplace_back(kClockName);
  auto prepare = [&](const std::vector<size_t>& which) -> Status {
    std::string sql;
    for (size_t k : which) {
      sql += *tags[k];
      sql += "PREPARE ";
      sql += names[k];
      sql += Parenthesized(forms[k]->parameter_types);
      sql += " AS ";
      sql += forms[k]->sql;
      sql += ";\n";
    }
    auto r = session.Execute(sql, deadline);
    if (!r.ok()) return r.status();
    for (size_t k : which) prepared->names.insert(names[k]);
    return Status::Ok();
  };
  std::vector<size_t> missing;
  for (size_t k = 0; k < names.size(); ++k) {
    if (prepared->names.count(names[k]) == 0 &&
        prepared->refused.count(names[k]) == 0) {
      missing.push_back(k);
    }
  }
  if (!missing.empty()) {
    Status s = prepare(missing);
    if (!s.ok() && !IsStatementError(s)) return s;
    if (!s.ok()) {
      // Find the statements the server refuses to prepare, one by one;
      // they are not tried again on this connection.
      for (size_t k : missing) {
        Status one = prepare({k});
        if (!one.ok() && !IsStatementError(one)) return one;
        if (!one.ok()) prepared->refused.insert(names[k]);
      }
    }
  }
  PreparedStatements::Batch batch;
  // Appends only (GCC 12 -O3 reports a false -Werror=restrict on some
  // string concatenations, bug 105651).
  for (size_t k = 0; k < statements.size(); ++k) {
    const bool executed = prepared->names.count(names[k]) > 0;
    std::string head = *tags[k];
    if (executed) {
      head += "EXECUTE ";
      head += names[k];
    }
    batch.collectors.push_back(statements[k].collectors);
    batch.heads.push_back(std::move(head));
    batch.takes_arguments.push_back(!forms[k]->parameter_types.empty());
    batch.refused.push_back(!executed);
  }
  if (prepared->names.count(kClockName) > 0) {
    batch.clock = "EXECUTE ";
    batch.clock += kClockName;
  } else {
    batch.clock = kClockStatement;
  }
  return batch;
}

// What one poll's batch sends: per distinct statement, the collectors that
// share it and its text; and the server clock's text.
struct BatchPlan {
  std::vector<std::vector<size_t>> collectors;
  std::vector<std::string> texts;
  std::string clock;
};

// The batch of this poll. A session that prepares statements builds their
// texts and names once per connection (PreparedStatements::batch) and
// again only when the settings that shape them change; each poll adds the
// arguments. Fails only when the session does.
Result<BatchPlan> PlanBatch(Session& session,
                            const std::vector<const Collector*>& collectors,
                            const CollectorContext& ctx,
                            const RunOptions& options, Deadline deadline) {
  PreparedStatements* prepared = session.prepared_statements();
  BatchPlan plan;
  if (prepared == nullptr || prepared->disabled) {
    for (SharedStatement& st :
         DistinctStatements(collectors, ctx, options, false)) {
      plan.collectors.push_back(std::move(st.collectors));
      plan.texts.push_back(std::move(st.tags));
      plan.texts.back() += st.form.sql;
    }
    plan.clock = kClockStatement;
    return plan;
  }
  std::string key = BatchKey(collectors, ctx, options);
  if (!prepared->batch || prepared->batch->key != key) {
    prepared->batch.reset();
    auto batch = PrepareBatch(
        session, prepared, DistinctStatements(collectors, ctx, options, true),
        deadline);
    if (!batch.ok()) return batch.status();
    batch->key = std::move(key);
    prepared->batch = std::move(*batch);
  }
  const PreparedStatements::Batch& batch = *prepared->batch;
  plan.collectors = batch.collectors;
  for (size_t k = 0; k < batch.heads.size(); ++k) {
    const Collector& first = *collectors[batch.collectors[k][0]];
    std::string text = batch.heads[k];
    if (batch.refused[k]) {
      text += first.Statement(ctx);  // the statement as it is
    } else if (batch.takes_arguments[k]) {
      text += Parenthesized(first.Arguments(ctx));
    }
    plan.texts.push_back(std::move(text));
  }
  plan.clock = batch.clock;
  return plan;
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

namespace {

// The batch: every statement in one round trip, each framed by readings of
// the server's clock. True when it answered (`out` holds every outcome);
// false when the collectors must run one by one (a statement failed and took
// the batch with it, or something between us and the server split it); an
// error when the session failed.
Result<bool> RunBatch(Session& session,
                      const std::vector<const Collector*>& collectors,
                      const CollectorContext& ctx, const RunOptions& options,
                      Deadline deadline, Snapshot* out,
                      std::string* batch_problem) {
  auto plan = PlanBatch(session, collectors, ctx, options, deadline);
  if (!plan.ok()) return plan.status();
  const std::string& clock_sql = plan->clock;
  // clock; statement 1; clock; statement 2; clock; ...
  std::string sql = clock_sql + ";\n";
  for (const std::string& text : plan->texts) {
    sql += text;
    sql += ";\n";
    sql += clock_sql;
    sql += ";\n";
  }
  auto results = session.Execute(sql, deadline);
  const size_t expected = 2 * plan->texts.size() + 1;
  if (results.ok() && results->size() == expected) {
    // Outcomes in the collectors' order, whatever statement they shared.
    std::vector<CollectorOutcome> outcomes(collectors.size());
    for (size_t k = 0; k < plan->texts.size(); ++k) {
      auto before = ServerClock((*results)[2 * k]);
      auto after = ServerClock((*results)[2 * k + 2]);
      const double secs =
          before.ok() && after.ok() ? std::max(0.0, *after - *before) : 0.0;
      for (size_t i : plan->collectors[k]) {
        outcomes[i] =
            ParseInto(*collectors[i], (*results)[2 * k + 1], ctx, secs, out);
      }
    }
    for (CollectorOutcome& o : outcomes) {
      out->collectors.push_back(std::move(o));
    }
    return true;
  }
  if (!results.ok() && !IsStatementError(results.status())) {
    return results.status();
  }
  if (PreparedStatements* prepared = session.prepared_statements()) {
    // A batch of prepared statements failed: perhaps they are gone (a
    // pooler between us and the server, DISCARD ALL). The rest of this
    // connection sends the statements as they are.
    *prepared = {};
    prepared->disabled = true;
  }
  if (results.ok() && batch_problem != nullptr) {
    // Something between us and the server (a pooler in statement mode, a
    // proxy) split or swallowed statements.
    *batch_problem = "batch returned " + std::to_string(results->size()) +
                     " results, expected " + std::to_string(expected) +
                     "; running the collectors one by one";
  }
  return false;
}

// Each collector's statement on its own, so that a failing one fails alone.
Status RunOneByOne(Session& session,
                   const std::vector<const Collector*>& collectors,
                   const CollectorContext& ctx, const RunOptions& options,
                   Deadline deadline, const Clock& clock, Snapshot* out) {
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

}  // namespace

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
    auto answered = RunBatch(session, collectors, ctx, options, deadline, out,
                             batch_problem);
    if (!answered.ok()) return answered.status();
    if (*answered) return Status::Ok();
  }
  return RunOneByOne(session, collectors, ctx, options, deadline, clock, out);
}

}  // namespace pgconn
