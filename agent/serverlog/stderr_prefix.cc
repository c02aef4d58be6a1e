// Matching stderr lines against a compiled log_line_prefix.
#include <string>
#include <string_view>
#include <vector>

#include "serverlog/log_entry.h"

namespace pgconn {
namespace {

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

// One switch over the escapes, to be read beside PostgreSQL's list of them.
// Long: one case per log_line_prefix escape.
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
  for (std::string_view sev : kLogSeverities) {
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
  // Split, the recursion would be spread over a dozen functions.
  // Long: one case per kind of token, each matching and backtracking alike.
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

}  // namespace pgconn
