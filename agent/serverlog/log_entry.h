// PostgreSQL server log entries in the three file formats (stderr with a
// log_line_prefix, csvlog, jsonlog) and what pgconn counts from them:
// refused logins, terminated sessions and authorized connections. Pure
// functions and small streaming splitters, tested on canned lines.
#ifndef PGCONN_AGENT_SERVERLOG_LOG_ENTRY_H_
#define PGCONN_AGENT_SERVERLOG_LOG_ENTRY_H_

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/status.h"
#include "util/label_text.h"

namespace pgconn {

// The `reason` label values of pgconn_connections_refused_total and
// pgconn_sessions_terminated_total, all exported from the start with 0.
inline constexpr std::array<std::string_view, 7> kRefusalReasons = {
    "max_connections", "reserved_slots", "database_limit", "role_limit",
    "authentication",  "starting_up",    "shutting_down"};
inline constexpr std::array<std::string_view, 3> kTerminationReasons = {
    "idle_in_transaction_timeout", "idle_session_timeout", "administrator"};

// The severities PostgreSQL writes before ":  " (untranslated).
inline constexpr std::array<std::string_view, 17> kLogSeverities = {
    "LOG",    "FATAL",  "ERROR",  "WARNING", "PANIC",    "INFO",
    "NOTICE", "DEBUG1", "DEBUG2", "DEBUG3",  "DEBUG4",   "DEBUG5",
    "DETAIL", "HINT",   "QUERY",  "CONTEXT", "STATEMENT"};

// PostgreSQL's identifiers and application_name are cut at NAMEDATALEN - 1.
inline constexpr size_t kMaxLogName = 63;
// The longest record kept: the fields pgconn reads come first (stderr) or
// are short; the rest of a longer record is skipped, never buffered.
inline constexpr size_t kMaxLogRecordBytes = 16 * 1024;

// One log entry, the fields pgconn reads. `sqlstate` is empty where the
// format does not carry it (stderr without %e in the prefix).
struct LogEntry {
  std::string severity;
  std::string sqlstate;
  std::string message;  // the first line of the message
  std::string user;
  std::string database;
  // The process id, as written; empty where the format does not carry it
  // (stderr without %p in the prefix).
  std::string pid;
};

enum class LogEventKind { kNone, kRefused, kTerminated, kAuthorized };

struct LogEvent {
  LogEventKind kind = LogEventKind::kNone;
  std::string_view reason;  // one of kRefusalReasons / kTerminationReasons
  std::string application;  // kAuthorized: as logged, empty if unset
};

// What `entry` means for the counters: by SQLSTATE when the format has it,
// by PostgreSQL's (English) message text otherwise.
LogEvent ClassifyLogEntry(const LogEntry& entry);

// True for a FATAL that ends a login after PostgreSQL wrote "connection
// authorized" for it: the checks InitPostgres makes after authentication
// (reserved slots, role and database connection limits, a role that may
// not log in, a database that does not exist, cannot be connected to or
// does not accept connections). By SQLSTATE when the format has it, by
// message otherwise.
bool EndsAnAuthorizedLogin(const LogEntry& entry);

// A log_line_prefix compiled once, then matched against stderr lines.
// Thread-safe once built (immutable).
class StderrPrefix {
 public:
  // Fails on an escape pgconn cannot match (the message names it).
  static Result<StderrPrefix> Compile(std::string_view prefix);

  // The entry a line starts, or nullopt for lines that are not one
  // (continuation lines start with a tab; garbage). Where hostile names
  // make a line ambiguous, the first reading that means something to
  // ClassifyLogEntry wins, else the first reading.
  std::optional<LogEntry> Parse(std::string_view line) const;

  struct Token {
    enum class Kind {
      kLiteral,
      kTimestamp,         // %m %t %s: "2026-12-01 16:39:44[.123] UTC"
      kEpoch,             // %n: "1764607184.123"
      kDigits,            // %p %l %x %Q and the like
      kSessionId,         // %c: hex "." hex
      kSqlstate,          // %e: five characters [0-9A-Z]
      kText,              // %u %d %a %h %r %b %i %v: anything, bounded
      kStopUnlessSession  // %q
    };
    Kind kind = Kind::kLiteral;
    std::string literal;
    char escape = 0;
    size_t max_len = 0;  // kText
  };

 private:
  std::vector<Token> tokens_;
};

// A csvlog record (already split into fields) as PostgreSQL 13-18 write
// it: user_name 1, database_name 2, process_id 3, error_severity 11,
// sql_state_code 12, message 13. Nullopt when it has too few fields.
std::optional<LogEntry> CsvRecordToEntry(const std::vector<std::string>& f);

// One jsonlog line (PostgreSQL 15+: keys user, dbname, pid,
// error_severity, state_code, message), read with nlohmann-json. Nullopt
// when the line is not one JSON object (strict: nothing after it), nests
// deeper than 16 levels, or has no error_severity. A key given twice keeps
// its last value; bytes that are not UTF-8 become U+FFFD.
std::optional<LogEntry> ParseJsonLogLine(std::string_view line);

// Splits a byte stream into lines. A line longer than kMaxLogRecordBytes
// is delivered cut, with `truncated`, and its rest skipped. Not
// thread-safe.
class LineSplitter {
 public:
  using Sink = std::function<void(std::string_view line, bool truncated)>;
  void Feed(std::string_view bytes, const Sink& sink);
  void Reset();  // forget a partial line (the file was replaced)
  size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
  bool skipping_ = false;
};

// Splits a csvlog byte stream into records of fields (RFC 4180: quoted
// fields with "" for a quote may hold commas and newlines). Each field
// keeps at most kMaxLogRecordBytes / 4 bytes and a record at most 64
// fields; the rest is skipped. Not thread-safe.
class CsvSplitter {
 public:
  using Sink = std::function<void(const std::vector<std::string>& fields)>;
  void Feed(std::string_view bytes, const Sink& sink);
  void Reset();
  size_t buffered() const;

 private:
  void EndField();
  std::vector<std::string> fields_;
  std::string field_;
  bool in_quotes_ = false;
  bool quote_seen_ = false;  // a quote inside quotes: escape or the end
  bool started_ = false;     // anything of the current record seen
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_SERVERLOG_LOG_ENTRY_H_
