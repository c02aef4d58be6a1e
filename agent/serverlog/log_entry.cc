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
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The severities PostgreSQL writes before ":  " (untranslated).
constexpr std::array<std::string_view, 17> kSeverities = {
    "LOG",    "FATAL",  "ERROR",  "WARNING", "PANIC",    "INFO",
    "NOTICE", "DEBUG1", "DEBUG2", "DEBUG3",  "DEBUG4",   "DEBUG5",
    "DETAIL", "HINT",   "QUERY",  "CONTEXT", "STATEMENT"};

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
    for (std::string_view sev : kSeverities) {
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
    for (std::string_view sev : kSeverities) {
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

// ---------------------------------------------------------------- stderr

Result<StderrPrefix> StderrPrefix::Compile(std::string_view prefix) {
  using Kind = Token::Kind;
  StderrPrefix out;
  auto literal = [&out](char c) {
    if (out.tokens_.empty() || out.tokens_.back().kind != Kind::kLiteral) {
      out.tokens_.push_back(Token{});
    }
    out.tokens_.back().literal += c;
  };
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != '%') {
      literal(prefix[i]);
      continue;
    }
    if (++i == prefix.size()) {
      return Status::InvalidArgument("log_line_prefix ends with a lone \"%\"");
    }
    char c = prefix[i];
    // %-10u, %10u: padding PostgreSQL adds; unsupported (ambiguous).
    if (c == '-' || IsDigit(c)) {
      return Status::InvalidArgument(
          "log_line_prefix: padded escapes such as \"%10u\" are not "
          "supported");
    }
    Token t;
    t.escape = c;
    switch (c) {
      case '%':
        literal('%');
        continue;
      case 'm':
      case 't':
      case 's':
        t.kind = Kind::kTimestamp;
        break;
      case 'n':
        t.kind = Kind::kEpoch;
        break;
      case 'p':
      case 'l':
      case 'x':
      case 'P':
        t.kind = Kind::kDigits;
        break;
      case 'Q':  // query id: may be negative
        t.kind = Kind::kText;
        t.max_len = 21;
        break;
      case 'c':
        t.kind = Kind::kSessionId;
        break;
      case 'e':
        t.kind = Kind::kSqlstate;
        break;
      case 'u':
      case 'd':
      case 'a':
      case 'i':
        t.kind = Kind::kText;
        t.max_len = kMaxLogName + 16;  // "[unknown]" and the like fit
        break;
      case 'b':
      case 'v':
        t.kind = Kind::kText;
        t.max_len = 64;
        break;
      case 'h':
      case 'r':
        t.kind = Kind::kText;
        t.max_len = 270;  // a host name, then "(port)"
        break;
      case 'q':
        t.kind = Kind::kStopUnlessSession;
        break;
      default:
        return Status::InvalidArgument(std::string("log_line_prefix: \"%") + c +
                                       "\" is not an escape pgconn knows");
    }
    out.tokens_.push_back(std::move(t));
  }
  return out;
}

namespace {

using Token = StderrPrefix::Token;

// "YYYY-MM-DD HH:MM:SS[.fff] ZONE": its length at `s`, or 0.
size_t MatchTimestamp(std::string_view s) {
  constexpr std::string_view kShape = "dddd-dd-dd dd:dd:dd";
  if (s.size() < kShape.size()) return 0;
  for (size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? !IsDigit(s[i]) : s[i] != kShape[i]) return 0;
  }
  size_t n = kShape.size();
  if (n < s.size() && s[n] == '.') {
    ++n;
    while (n < s.size() && IsDigit(s[n])) ++n;
  }
  if (n >= s.size() || s[n] != ' ') return 0;
  ++n;
  const size_t zone = n;
  while (n < s.size() && s[n] != ' ' && n - zone < 64) ++n;
  return n > zone ? n : 0;
}

size_t MatchRun(std::string_view s, bool (*pred)(char)) {
  size_t n = 0;
  while (n < s.size() && pred(s[n])) ++n;
  return n;
}

// "SEVERITY:  " at `s`: the severity and the message after it.
bool MatchSeverity(std::string_view s, LogEntry* entry) {
  for (std::string_view sev : kSeverities) {
    if (StartsWith(s, sev) && StartsWith(s.substr(sev.size()), ":  ")) {
      entry->severity = std::string(sev);
      entry->message = std::string(s.substr(sev.size() + 3));
      return true;
    }
  }
  return false;
}

struct PrefixMatcher {
  const std::vector<Token>& tokens;
  std::string_view line;
  std::optional<LogEntry> first;  // the first complete reading
  int budget = 20000;             // steps, against pathological lines

  // True to stop: a reading that means something was found.
  bool Match(size_t ti, size_t pos, LogEntry* e) {
    if (--budget < 0) return true;
    if (ti == tokens.size()) return Finish(pos, e);
    const Token& t = tokens[ti];
    const std::string_view rest = line.substr(pos);
    switch (t.kind) {
      case Token::Kind::kLiteral:
        return StartsWith(rest, t.literal) &&
               Match(ti + 1, pos + t.literal.size(), e);
      case Token::Kind::kTimestamp: {
        const size_t n = MatchTimestamp(rest);
        return n > 0 && Match(ti + 1, pos + n, e);
      }
      case Token::Kind::kEpoch: {
        size_t n = MatchRun(rest, IsDigit);
        if (n == 0) return false;
        if (n < rest.size() && rest[n] == '.') {
          n += 1 + MatchRun(rest.substr(n + 1), IsDigit);
        }
        return Match(ti + 1, pos + n, e);
      }
      case Token::Kind::kDigits: {
        const size_t n = MatchRun(rest, IsDigit);
        if (n == 0) return false;
        if (t.escape != 'p') return Match(ti + 1, pos + n, e);
        const std::string saved = e->pid;
        e->pid = std::string(rest.substr(0, n));
        if (Match(ti + 1, pos + n, e)) return true;
        e->pid = saved;
        return false;
      }
      case Token::Kind::kSessionId: {
        const size_t a = MatchRun(rest, IsHex);
        if (a == 0 || a >= rest.size() || rest[a] != '.') return false;
        const size_t b = MatchRun(rest.substr(a + 1), IsHex);
        return b > 0 && Match(ti + 1, pos + a + 1 + b, e);
      }
      case Token::Kind::kSqlstate: {
        if (rest.size() < 5) return false;
        for (size_t i = 0; i < 5; ++i) {
          const char c = rest[i];
          if (!IsDigit(c) && !(c >= 'A' && c <= 'Z')) return false;
        }
        const std::string saved = e->sqlstate;
        e->sqlstate = std::string(rest.substr(0, 5));
        if (Match(ti + 1, pos + 5, e)) return true;
        e->sqlstate = saved;
        return false;
      }
      case Token::Kind::kText: {
        // Shortest first: names rarely hold what follows them.
        const size_t most = std::min(t.max_len, rest.size());
        for (size_t n = 0; n <= most; ++n) {
          if (rest.substr(0, n).find('\n') != std::string_view::npos) break;
          std::string saved;
          std::string* field = t.escape == 'u'   ? &e->user
                               : t.escape == 'd' ? &e->database
                                                 : nullptr;
          if (field != nullptr) {
            saved = *field;
            *field = std::string(rest.substr(0, n));
          }
          if (Match(ti + 1, pos + n, e)) return true;
          if (field != nullptr) *field = saved;
          if (budget < 0) return true;
        }
        return false;
      }
      case Token::Kind::kStopUnlessSession:
        // A session process writes the rest of the prefix; others stop.
        if (Match(ti + 1, pos, e)) return true;
        {
          LogEntry bare = *e;
          bare.user.clear();
          bare.database.clear();
          return Finish(pos, &bare);
        }
    }
    return false;
  }

  bool Finish(size_t pos, LogEntry* e) {
    LogEntry candidate = *e;
    if (!MatchSeverity(line.substr(pos), &candidate)) return false;
    if (ClassifyLogEntry(candidate).kind != LogEventKind::kNone) {
      first = std::move(candidate);
      return true;
    }
    if (!first) first = std::move(candidate);
    return false;
  }
};

}  // namespace

std::optional<LogEntry> StderrPrefix::Parse(std::string_view line) const {
  if (line.empty() || line[0] == '\t') return std::nullopt;
  PrefixMatcher m{tokens_, line, std::nullopt};
  LogEntry e;
  m.Match(0, 0, &e);
  return std::move(m.first);
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

// --------------------------------------------------------------- jsonlog

namespace {

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A reader of the flat objects jsonlog writes: string and number values.
class JsonLineReader {
 public:
  explicit JsonLineReader(std::string_view s) : s_(s) {}

  bool Object(const std::function<void(std::string, std::string)>& kv) {
    Space();
    if (!Eat('{')) return false;
    Space();
    if (Eat('}')) return true;
    for (;;) {
      std::string key, value;
      Space();
      if (!String(&key)) return false;
      Space();
      if (!Eat(':')) return false;
      Space();
      if (!Value(&value)) return false;
      kv(std::move(key), std::move(value));
      Space();
      if (Eat(',')) continue;
      return Eat('}');
    }
  }

 private:
  void Space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_])))
      ++i_;
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Hex4(uint32_t* v) {
    if (i_ + 4 > s_.size()) return false;
    *v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      if (!IsHex(c)) return false;
      *v = *v * 16 + static_cast<uint32_t>(IsDigit(c) ? c - '0'
                                           : (c >= 'a' && c <= 'f')
                                               ? c - 'a' + 10
                                               : c - 'A' + 10);
    }
    return true;
  }
  bool String(std::string* out) {
    if (!Eat('"')) return false;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char esc = s_[i_++];
      switch (esc) {
        case 'n':
          *out += '\n';
          break;
        case 't':
          *out += '\t';
          break;
        case 'r':
          *out += '\r';
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && i_ + 6 <= s_.size() &&
              s_[i_] == '\\' && s_[i_ + 1] == 'u') {
            i_ += 2;
            uint32_t lo = 0;
            if (!Hex4(&lo)) return false;
            if (lo >= 0xDC00 && lo < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              cp = 0xFFFD;
            }
          } else if (cp >= 0xD800 && cp < 0xE000) {
            cp = 0xFFFD;
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          *out += esc;  // \" \\ \/
      }
    }
    return false;
  }
  bool Value(std::string* out) {
    if (i_ < s_.size() && s_[i_] == '"') return String(out);
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' &&
           !std::isspace(static_cast<unsigned char>(s_[i_]))) {
      ++i_;
    }
    *out = std::string(s_.substr(start, i_ - start));
    return i_ > start;
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::optional<LogEntry> ParseJsonLogLine(std::string_view line) {
  LogEntry e;
  bool has_severity = false;
  JsonLineReader reader(line);
  const bool ok = reader.Object([&](std::string key, std::string value) {
    if (key == "user") {
      e.user = std::move(value);
    } else if (key == "dbname") {
      e.database = std::move(value);
    } else if (key == "pid") {
      e.pid = std::move(value);
    } else if (key == "error_severity") {
      e.severity = std::move(value);
      has_severity = true;
    } else if (key == "state_code") {
      e.sqlstate = std::move(value);
    } else if (key == "message") {
      e.message = value.substr(0, value.find('\n'));
    }
  });
  if (!ok || !has_severity) return std::nullopt;
  return e;
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
