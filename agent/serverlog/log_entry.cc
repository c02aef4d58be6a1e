#include "serverlog/log_entry.h"

#include <cctype>
#include <utility>

namespace pgconn {
namespace {

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool Contains(std::string_view s, std::string_view p) {
  return s.find(p) != std::string_view::npos;
}
std::string_view ReasonOf53300(std::string_view message) {
  if (StartsWith(message, "too many connections for database")) {
    return "database_limit";
  }
  if (StartsWith(message, "too many connections for role")) {
    return "role_limit";
  }
  // PostgreSQL 12-15: "... reserved for non-replication superuser
  // connections"; 16+: "... reserved for roles with the SUPERUSER
  // attribute" and "... reserved for roles with privileges of the
  // "pg_use_reserved_connections" role".
  if (StartsWith(message, "remaining connection slots are reserved for")) {
    return "reserved_slots";
  }
  return "max_connections";  // "sorry, too many clients already"
}

// The reason of a FATAL message without SQLSTATE; empty when it is none of
// ours. Fixed messages must be the whole line: a stderr line ends with
// PostgreSQL's text, so a name cannot make a reading end in one.
LogEvent ClassifyByText(std::string_view m) {
  LogEvent e;
  auto refused = [&e](std::string_view reason) {
    e.kind = LogEventKind::kRefused;
    e.reason = reason;
    return e;
  };
  auto terminated = [&e](std::string_view reason) {
    e.kind = LogEventKind::kTerminated;
    e.reason = reason;
    return e;
  };
  if (m == "sorry, too many clients already") return refused("max_connections");
  if (StartsWith(m, "remaining connection slots are reserved for")) {
    return refused("reserved_slots");
  }
  if (StartsWith(m, "too many connections for database \"") &&
      m.back() == '"') {
    return refused("database_limit");
  }
  if (StartsWith(m, "too many connections for role \"") && m.back() == '"') {
    return refused("role_limit");
  }
  // "password authentication failed for user", "Ident/peer/... failed for
  // user", "no pg_hba.conf entry for host", "pg_hba.conf rejects
  // connection", "role "x" does not exist" (all 28P01 or 28000).
  if (Contains(m, "authentication failed for user \"") ||
      StartsWith(m, "no pg_hba.conf entry for ") ||
      StartsWith(m, "pg_hba.conf rejects connection for ") ||
      (StartsWith(m, "role \"") && m.size() > 22 &&
       m.substr(m.size() - 16) == "\" does not exist")) {
    return refused("authentication");
  }
  if (m == "the database system is shutting down") {
    return refused("shutting_down");
  }
  if (m == "the database system is starting up" ||
      m == "the database system is not yet accepting connections" ||
      m == "the database system is not accepting connections" ||
      m == "the database system is in recovery mode") {
    return refused("starting_up");
  }
  if (m == "terminating connection due to idle-in-transaction timeout") {
    return terminated("idle_in_transaction_timeout");
  }
  if (m == "terminating connection due to idle-session timeout") {
    return terminated("idle_session_timeout");
  }
  if (m == "terminating connection due to administrator command") {
    return terminated("administrator");
  }
  return e;
}

LogEvent ClassifyBySqlstate(const LogEntry& entry) {
  LogEvent e;
  const std::string& code = entry.sqlstate;
  const std::string_view m = entry.message;
  if (code == "53300") {
    e.kind = LogEventKind::kRefused;
    e.reason = ReasonOf53300(m);
  } else if (code == "28P01" || code == "28000") {
    e.kind = LogEventKind::kRefused;
    e.reason = "authentication";
  } else if (code == "57P03") {
    e.kind = LogEventKind::kRefused;
    e.reason = Contains(m, "shutting down") ? "shutting_down" : "starting_up";
  } else if (code == "25P03") {
    e.kind = LogEventKind::kTerminated;
    e.reason = "idle_in_transaction_timeout";
  } else if (code == "57P05") {
    e.kind = LogEventKind::kTerminated;
    e.reason = "idle_session_timeout";
  } else if (code == "57P01") {
    // Also sent to autovacuum workers, background workers and walsenders
    // ("terminating autovacuum process ..."): not client sessions.
    if (StartsWith(m, "terminating ") &&
        !StartsWith(m, "terminating connection")) {
      return e;
    }
    e.kind = LogEventKind::kTerminated;
    e.reason = "administrator";
  }
  return e;
}

// "connection authorized: user=U database=D application_name=A SSL enabled
// (...)": A, or empty when the client set none.
std::string AuthorizedApplication(std::string_view m) {
  constexpr std::string_view kKey = " application_name=";
  const size_t at = m.find(kKey);
  if (at == std::string_view::npos) return "";
  std::string_view app = m.substr(at + kKey.size());
  for (std::string_view tail : {" SSL enabled (", " GSS (", " GSS enabled"}) {
    const size_t t = app.rfind(tail);
    if (t != std::string_view::npos) app = app.substr(0, t);
  }
  return std::string(app);
}

}  // namespace

LogEvent ClassifyLogEntry(const LogEntry& entry) {
  if (entry.severity == "LOG" &&
      StartsWith(entry.message, "connection authorized: ")) {
    LogEvent e;
    e.kind = LogEventKind::kAuthorized;
    e.application = AuthorizedApplication(entry.message);
    return e;
  }
  if (!entry.sqlstate.empty()) {
    // These codes end a connection whatever the language of the message;
    // a severity that is not in English is taken for FATAL.
    bool other_severity = false;
    for (std::string_view sev : kLogSeverities) {
      other_severity =
          other_severity || (sev != "FATAL" && entry.severity == sev);
    }
    if (other_severity) return LogEvent{};
    return ClassifyBySqlstate(entry);
  }
  if (entry.severity != "FATAL" || entry.message.empty()) return LogEvent{};
  return ClassifyByText(entry.message);
}

bool EndsAnAuthorizedLogin(const LogEntry& entry) {
  const std::string& code = entry.sqlstate;
  if (entry.severity != "FATAL") {
    // A translated severity (csvlog, jsonlog) is taken for FATAL when the
    // SQLSTATE says which error it is, as ClassifyLogEntry does.
    if (code.empty()) return false;
    for (std::string_view sev : kLogSeverities) {
      if (entry.severity == sev) return false;
    }
  }
  if (!code.empty()) {
    // 53300 limits and reserved slots, 28000 "not permitted to log in",
    // 3D000 no such database, 42501 no CONNECT privilege, 55000 the
    // database does not accept connections.
    return code == "53300" || code == "28000" || code == "3D000" ||
           code == "42501" || code == "55000";
  }
  const std::string_view m = entry.message;
  if (m.empty()) return false;
  const LogEvent e = ClassifyByText(m);
  if (e.kind == LogEventKind::kRefused) return true;
  return (StartsWith(m, "role \"") &&
          EndsWith(m, "\" is not permitted to log in")) ||
         (StartsWith(m, "database \"") &&
          (EndsWith(m, "\" does not exist") ||
           EndsWith(m, "\" is not currently accepting connections"))) ||
         StartsWith(m, "permission denied for database \"");
}

// ---------------------------------------------------------------- csvlog

std::optional<LogEntry> CsvRecordToEntry(const std::vector<std::string>& f) {
  if (f.size() < 14) return std::nullopt;
  LogEntry e;
  e.user = f[1];
  e.database = f[2];
  e.pid = f[3];
  e.severity = f[11];
  e.sqlstate = f[12];
  e.message = f[13].substr(0, f[13].find('\n'));
  return e;
}

void CsvSplitter::EndField() {
  if (fields_.size() < 64) fields_.push_back(std::move(field_));
  field_.clear();
}

void CsvSplitter::Feed(std::string_view bytes, const Sink& sink) {
  constexpr size_t kMaxField = kMaxLogRecordBytes / 4;
  for (char c : bytes) {
    if (in_quotes_) {
      if (quote_seen_) {
        quote_seen_ = false;
        if (c == '"') {  // "" inside quotes: one quote
          if (field_.size() < kMaxField) field_ += '"';
          continue;
        }
        in_quotes_ = false;  // the closing quote; c is after it
      } else if (c == '"') {
        quote_seen_ = true;
        continue;
      } else {
        if (field_.size() < kMaxField) field_ += c;
        continue;
      }
    }
    if (c == '"') {
      in_quotes_ = true;
      started_ = true;
    } else if (c == ',') {
      EndField();
      started_ = true;
    } else if (c == '\n') {
      if (started_ || !field_.empty() || !fields_.empty()) {
        EndField();
        sink(fields_);
      }
      fields_.clear();
      started_ = false;
    } else if (c != '\r') {
      if (field_.size() < kMaxField) field_ += c;
      started_ = true;
    }
  }
}

void CsvSplitter::Reset() {
  fields_.clear();
  field_.clear();
  in_quotes_ = quote_seen_ = started_ = false;
}

size_t CsvSplitter::buffered() const {
  size_t n = field_.size();
  for (const auto& f : fields_) n += f.size();
  return n;
}

// ----------------------------------------------------------------- lines

void LineSplitter::Feed(std::string_view bytes, const Sink& sink) {
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    if (!skipping_) {
      const size_t room = kMaxLogRecordBytes - buf_.size();
      buf_.append(piece.substr(0, room));
      if (piece.size() > room) {
        sink(buf_, true);  // cut: the rest of the line is skipped
        buf_.clear();
        skipping_ = true;
      }
    }
    if (nl == std::string_view::npos) return;
    if (!skipping_) sink(buf_, false);
    buf_.clear();
    skipping_ = false;
    bytes.remove_prefix(nl + 1);
  }
}

void LineSplitter::Reset() {
  buf_.clear();
  skipping_ = false;
}

}  // namespace pgconn
