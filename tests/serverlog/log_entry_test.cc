#include "serverlog/log_entry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgconn {
namespace {

constexpr std::string_view kDebian = "%m [%p] %q%u@%d ";

StderrPrefix Prefix(std::string_view p) {
  auto c = StderrPrefix::Compile(p);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : *StderrPrefix::Compile("");
}

struct Case {
  std::string line;
  LogEventKind kind;
  std::string_view reason;
};

TEST(StderrPrefixTest, ClassifiesEveryReasonByMessage) {
  const StderrPrefix p = Prefix(kDebian);
  const std::string t = "2026-12-01 16:39:44.123 UTC [4242] ";
  const std::vector<Case> cases = {
      {t + "app@shop FATAL:  sorry, too many clients already",
       LogEventKind::kRefused, "max_connections"},
      {t + "app@shop FATAL:  remaining connection slots are reserved for "
           "non-replication superuser connections",
       LogEventKind::kRefused, "reserved_slots"},
      {t + "app@shop FATAL:  remaining connection slots are reserved for "
           "roles with the SUPERUSER attribute",
       LogEventKind::kRefused, "reserved_slots"},
      {t + "app@shop FATAL:  remaining connection slots are reserved for "
           "roles with privileges of the \"pg_use_reserved_connections\" "
           "role",
       LogEventKind::kRefused, "reserved_slots"},
      {t + "app@shop FATAL:  too many connections for database \"shop\"",
       LogEventKind::kRefused, "database_limit"},
      {t + "app@shop FATAL:  too many connections for role \"app\"",
       LogEventKind::kRefused, "role_limit"},
      {t + "app@shop FATAL:  password authentication failed for user \"app\"",
       LogEventKind::kRefused, "authentication"},
      {t + "app@shop FATAL:  no pg_hba.conf entry for host \"10.0.0.9\", "
           "user \"app\", database \"shop\", no encryption",
       LogEventKind::kRefused, "authentication"},
      {t + "nobody@shop FATAL:  role \"nobody\" does not exist",
       LogEventKind::kRefused, "authentication"},
      {t + "app@shop FATAL:  the database system is starting up",
       LogEventKind::kRefused, "starting_up"},
      {t + "app@shop FATAL:  the database system is shutting down",
       LogEventKind::kRefused, "shutting_down"},
      {t + "app@shop FATAL:  terminating connection due to "
           "idle-in-transaction timeout",
       LogEventKind::kTerminated, "idle_in_transaction_timeout"},
      {t + "app@shop FATAL:  terminating connection due to idle-session "
           "timeout",
       LogEventKind::kTerminated, "idle_session_timeout"},
      {t + "app@shop FATAL:  terminating connection due to administrator "
           "command",
       LogEventKind::kTerminated, "administrator"},
      // Not ours: other FATALs, ERRORs with the same words, background
      // processes (no user@db after %q).
      {t + "app@shop FATAL:  database \"nope\" does not exist",
       LogEventKind::kNone, ""},
      {t + "app@shop ERROR:  sorry, too many clients already",
       LogEventKind::kNone, ""},
      {t + "LOG:  database system is ready to accept connections",
       LogEventKind::kNone, ""},
      {t + "app@shop STATEMENT:  select 'FATAL:  sorry, too many clients "
           "already'",
       LogEventKind::kNone, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    auto e = p.Parse(c.line);
    ASSERT_TRUE(e.has_value());
    const LogEvent ev = ClassifyLogEntry(*e);
    EXPECT_EQ(ev.kind, c.kind);
    EXPECT_EQ(ev.reason, c.reason);
  }
}

TEST(StderrPrefixTest, ReadsUserDatabaseAndBackgroundLines) {
  const StderrPrefix p = Prefix(kDebian);
  auto e = p.Parse(
      "2026-12-01 16:39:44.123 UTC [4242] app@shop FATAL:  sorry, too many "
      "clients already");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->user, "app");
  EXPECT_EQ(e->database, "shop");
  EXPECT_EQ(e->severity, "FATAL");
  EXPECT_EQ(e->message, "sorry, too many clients already");
  auto bg = p.Parse(
      "2026-12-01 16:39:44.123 UTC [17] LOG:  checkpoint starting: time");
  ASSERT_TRUE(bg);
  EXPECT_EQ(bg->severity, "LOG");
  EXPECT_EQ(bg->user, "");
  EXPECT_EQ(bg->message, "checkpoint starting: time");
}

TEST(StderrPrefixTest, ContinuationLinesAreNotEntries) {
  const StderrPrefix p = Prefix(kDebian);
  // A multi-line statement: PostgreSQL starts each further line with a tab.
  EXPECT_FALSE(p.Parse("\tFATAL:  sorry, too many clients already"));
  EXPECT_FALSE(p.Parse(""));
  EXPECT_FALSE(p.Parse("garbage that is not a log line"));
}

TEST(StderrPrefixTest, HostileNamesDoNotForgeOrHideRefusals) {
  const StderrPrefix p = Prefix(kDebian);
  const std::string t = "2026-12-01 16:39:44.123 UTC [4242] ";
  // A user whose name holds "@" and a FATAL message: the line is an
  // authorization, not a refusal.
  auto forged = p.Parse(
      t +
      "x@ FATAL:  sorry, too many clients already@shop LOG:  connection "
      "authorized: user=x@ FATAL:  sorry, too many clients already "
      "database=shop");
  ASSERT_TRUE(forged);
  EXPECT_EQ(ClassifyLogEntry(*forged).kind, LogEventKind::kAuthorized);
  // A database name that holds a FATAL text: the real refusal still counts.
  auto hidden = p.Parse(t +
                        "x@y FATAL:  sorry, too many clients already FATAL:  "
                        "password authentication failed for user \"x\"");
  ASSERT_TRUE(hidden);
  const LogEvent ev = ClassifyLogEntry(*hidden);
  EXPECT_EQ(ev.kind, LogEventKind::kRefused);
  EXPECT_EQ(ev.reason, "authentication");
  // Very long garbage is bounded work and no entry.
  EXPECT_FALSE(p.Parse(t + std::string(20000, '@')));
}

TEST(StderrPrefixTest, SqlstateInPrefixWins) {
  const StderrPrefix p = Prefix("%m [%p] %e %q%u@%d ");
  auto e = p.Parse(
      "2026-12-01 16:39:44.123 UTC [4242] 53300 app@shop FATAL:  "
      "remaining connection slots are reserved for non-replication "
      "superuser connections");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->sqlstate, "53300");
  EXPECT_EQ(ClassifyLogEntry(*e).reason, "reserved_slots");
}

TEST(StderrPrefixTest, OtherPrefixes) {
  auto e = Prefix("%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ")
               .Parse(
                   "2026-12-01 16:39:44 UTC [99]: [3-1] user=app,db=shop,"
                   "app=web,client=10.1.2.3 FATAL:  too many connections "
                   "for role \"app\"");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->user, "app");
  EXPECT_EQ(ClassifyLogEntry(*e).reason, "role_limit");
  auto n = Prefix("%n %c ").Parse(
      "1764607184.123 6756c2a0.1a2b FATAL:  sorry, too many clients already");
  ASSERT_TRUE(n);
  EXPECT_EQ(ClassifyLogEntry(*n).reason, "max_connections");
}

TEST(StderrPrefixTest, RejectsWhatItCannotMatch) {
  EXPECT_FALSE(StderrPrefix::Compile("%m %10u ").ok());
  EXPECT_FALSE(StderrPrefix::Compile("%m %").ok());
  EXPECT_FALSE(StderrPrefix::Compile("%Z ").ok());
}

TEST(ClassifyTest, AuthorizedApplication) {
  LogEntry e;
  e.severity = "LOG";
  e.message =
      "connection authorized: user=app database=shop application_name=web "
      "worker SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, "
      "bits=256)";
  LogEvent ev = ClassifyLogEntry(e);
  EXPECT_EQ(ev.kind, LogEventKind::kAuthorized);
  EXPECT_EQ(ev.application, "web worker");
  e.message = "connection authorized: user=app database=shop";
  ev = ClassifyLogEntry(e);
  EXPECT_EQ(ev.kind, LogEventKind::kAuthorized);
  EXPECT_EQ(ev.application, "");
}

TEST(ClassifyTest, BySqlstate) {
  LogEntry e;
  e.severity = "FATAL";
  e.sqlstate = "57P01";
  e.message = "terminating autovacuum process due to administrator command";
  EXPECT_EQ(ClassifyLogEntry(e).kind, LogEventKind::kNone);
  e.message = "terminating connection due to administrator command";
  EXPECT_EQ(ClassifyLogEntry(e).reason, "administrator");
  // A translated message is classified by its code.
  e.severity = "FATAL";
  e.sqlstate = "53300";
  e.message = "lo siento, ya tenemos demasiados clientes";
  EXPECT_EQ(ClassifyLogEntry(e).reason, "max_connections");
  e.sqlstate = "28P01";
  EXPECT_EQ(ClassifyLogEntry(e).reason, "authentication");
  e.sqlstate = "57P03";
  e.message = "the database system is shutting down";
  EXPECT_EQ(ClassifyLogEntry(e).reason, "shutting_down");
  e.sqlstate = "25P03";
  EXPECT_EQ(ClassifyLogEntry(e).reason, "idle_in_transaction_timeout");
  e.sqlstate = "57P05";
  EXPECT_EQ(ClassifyLogEntry(e).reason, "idle_session_timeout");
  e.severity = "ERROR";
  e.sqlstate = "53300";
  EXPECT_EQ(ClassifyLogEntry(e).kind, LogEventKind::kNone);
}

std::vector<std::vector<std::string>> SplitCsv(
    const std::vector<std::string>& chunks) {
  CsvSplitter s;
  std::vector<std::vector<std::string>> out;
  for (const auto& c : chunks) {
    s.Feed(c, [&out](const std::vector<std::string>& f) { out.push_back(f); });
  }
  return out;
}

// A PostgreSQL 15 csvlog record with the given user, database, severity,
// SQLSTATE, message and query (26 columns).
std::string CsvRecord(std::string user, std::string db, std::string sev,
                      std::string code, std::string msg, std::string query) {
  auto q = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"') out += '"';
      out += c;
    }
    return out + "\"";
  };
  return "2026-12-01 16:39:44.123 UTC," + q(user) + "," + q(db) +
         ",4242,\"10.0.0.9:50000\",6756c2a0.1092,1,\"authentication\","
         "2026-12-01 16:39:44 UTC,3/1,0," +
         sev + "," + code + "," + q(msg) + ",,,,,," + q(query) +
         ",,,\"web\",\"client backend\",,0\n";
}

TEST(CsvlogTest, RecordsWithQuotesAndNewlines) {
  const std::string a =
      CsvRecord("app", "shop", "FATAL", "53300",
                "remaining connection slots are reserved for non-replication "
                "superuser connections",
                "");
  const std::string b =
      CsvRecord("evil\",\"x", "sh,op\nFATAL", "ERROR", "42601", "syntax error",
                "select 1\n,\"FATAL\",\"53300\"\nfrom t");
  const std::string all = a + b + a;
  // Whole, and fed one byte at a time.
  std::vector<std::string> bytes;
  for (char c : all) bytes.emplace_back(1, c);
  for (const auto& chunks : {std::vector<std::string>{all}, bytes}) {
    const auto records = SplitCsv(chunks);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[0].size(), 26u);
    auto e0 = CsvRecordToEntry(records[0]);
    ASSERT_TRUE(e0);
    EXPECT_EQ(ClassifyLogEntry(*e0).reason, "reserved_slots");
    auto e1 = CsvRecordToEntry(records[1]);
    ASSERT_TRUE(e1);
    EXPECT_EQ(e1->user, "evil\",\"x");
    EXPECT_EQ(e1->database, "sh,op\nFATAL");
    EXPECT_EQ(ClassifyLogEntry(*e1).kind, LogEventKind::kNone);
    EXPECT_EQ(records[2], records[0]);
  }
}

TEST(CsvlogTest, OverlongFieldIsBounded) {
  CsvSplitter s;
  const std::string huge = CsvRecord("app", "shop", "ERROR", "42601", "x",
                                     std::string(1 << 20, 'q'));
  size_t n = 0;
  size_t most = 0;
  for (size_t i = 0; i < huge.size(); i += 4096) {
    s.Feed(std::string_view(huge).substr(i, 4096),
           [&n](const std::vector<std::string>&) { ++n; });
    most = std::max(most, s.buffered());
  }
  EXPECT_EQ(n, 1u);
  EXPECT_LE(most, kMaxLogRecordBytes);
}

TEST(JsonlogTest, Pg15Keys) {
  auto e = ParseJsonLogLine(
      R"({"timestamp":"2026-12-01 16:39:44.123 UTC","user":"app\"\u00e9",)"
      R"("dbname":"shop","pid":4242,"error_severity":"FATAL",)"
      R"("state_code":"53300","message":"sorry, too many clients already",)"
      R"("backend_type":"client backend","query_id":0})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->user, "app\"\xC3\xA9");
  EXPECT_EQ(e->database, "shop");
  EXPECT_EQ(ClassifyLogEntry(*e).reason, "max_connections");
  auto multi = ParseJsonLogLine(
      R"({"error_severity":"LOG","state_code":"00000","message":"connection authorized: user=a database=b application_name=x\ny"})");
  ASSERT_TRUE(multi);
  EXPECT_EQ(multi->message,
            "connection authorized: user=a database=b "
            "application_name=x");
  EXPECT_FALSE(ParseJsonLogLine("{\"error_severity\":\"FATAL\""));
  EXPECT_FALSE(ParseJsonLogLine("not json"));
  EXPECT_FALSE(ParseJsonLogLine("{\"message\":\"no severity\"}"));
}

// What nlohmann-json decides for hostile or odd lines (the reader before it
// was our own): each case with the exact outcome.
TEST(JsonlogTest, HostileLines) {
  // Not an object at the top, or something after it.
  for (const char* line :
       {"[1]", "\"LOG\"", "42", "null", "", "   ",
        R"({"error_severity":"LOG"} trailing)",
        R"({"error_severity":"LOG"}{"error_severity":"LOG"})",
        R"({"error_severity":"LOG",})", R"({"error_severity":LOG})",
        // PostgreSQL escapes control characters; a raw one is not jsonlog.
        "{\"error_severity\":\"LOG\",\"message\":\"a\tb\"}",
        // A lone surrogate escape is not a character.
        R"({"error_severity":"LOG","user":"\ud800"})"}) {
    EXPECT_FALSE(ParseJsonLogLine(line)) << line;
  }
  // Whitespace around the object is fine.
  EXPECT_TRUE(ParseJsonLogLine(" {\"error_severity\":\"LOG\"} \r"));
}

TEST(JsonlogTest, RepeatedKeyKeepsTheLastValue) {
  auto e = ParseJsonLogLine(
      R"({"user":"first","error_severity":"LOG","user":"second"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->user, "second");
}

TEST(JsonlogTest, NestedValuesAreSkippedAndDepthIsBounded) {
  auto e = ParseJsonLogLine(
      R"({"error_severity":"FATAL","extra":{"user":"inner","a":[1,{"pid":2}]},)"
      R"("user":"outer","pid":7,"ratio":1.50,"ok":true,"none":null})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->user, "outer");
  EXPECT_EQ(e->pid, "7");
  EXPECT_EQ(e->severity, "FATAL");
  // Numbers are kept as written, other scalars spelled out.
  auto n = ParseJsonLogLine(
      R"({"error_severity":"LOG","pid":1.50,"user":true,"dbname":null})");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->pid, "1.50");
  EXPECT_EQ(n->user, "true");
  EXPECT_EQ(n->database, "null");
  // 16 levels in all are read; 17 are refused.
  auto nested = [](int levels) {
    return "{\"error_severity\":\"LOG\",\"x\":" + std::string(levels - 1, '[') +
           std::string(levels - 1, ']') + "}";
  };
  EXPECT_TRUE(ParseJsonLogLine(nested(16)));
  EXPECT_FALSE(ParseJsonLogLine(nested(17)));
  // A whole record of brackets ends at the bound, not on the stack.
  EXPECT_FALSE(ParseJsonLogLine("{\"error_severity\":\"LOG\",\"x\":" +
                                std::string(kMaxLogRecordBytes, '[')));
}

TEST(JsonlogTest, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  auto e = ParseJsonLogLine(
      "{\"user\":\"caf\xE9\",\"dbname\":\"\xFF\xFE\",\"error_severity\":"
      "\"LOG\"}");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->user, "caf\xEF\xBF\xBD");
  EXPECT_EQ(e->database, "\xEF\xBF\xBD\xEF\xBF\xBD");
  // Outside a string a bad byte is still bad JSON.
  EXPECT_FALSE(ParseJsonLogLine("{\"error_severity\":\"LOG\"\xFF}"));
}

TEST(LineSplitterTest, PartialAndOverlongLines) {
  LineSplitter s;
  std::vector<std::pair<std::string, bool>> got;
  auto sink = [&got](std::string_view l, bool cut) {
    got.emplace_back(std::string(l), cut);
  };
  s.Feed("ab", sink);
  s.Feed("c\nde", sink);
  EXPECT_EQ(got.size(), 1u);
  s.Feed(std::string(kMaxLogRecordBytes * 3, 'x'), sink);
  EXPECT_LE(s.buffered(), kMaxLogRecordBytes);
  s.Feed("tail\nok\n", sink);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(std::string("abc"), false));
  EXPECT_TRUE(got[1].second);
  EXPECT_EQ(got[1].first.size(), kMaxLogRecordBytes);
  EXPECT_EQ(got[2], std::make_pair(std::string("ok"), false));
}

TEST(BoundedLabelValueTest, ValidUtf8AndBounded) {
  EXPECT_EQ(BoundedLabelValue("web", 63), "web");
  EXPECT_EQ(BoundedLabelValue("a\xFF"
                              "b",
                              63),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(BoundedLabelValue("a\nb", 63),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(BoundedLabelValue("\xC0\xAF", 63), "\xEF\xBF\xBD\xEF\xBF\xBD");
  // Cut at a character boundary: "é" is two bytes.
  EXPECT_EQ(BoundedLabelValue("ab\xC3\xA9", 3), "ab");
  EXPECT_EQ(BoundedLabelValue(std::string(100, 'x'), 63).size(), 63u);
}

}  // namespace
}  // namespace pgconn

namespace pgconn {
namespace {

TEST(LogEntryPidTest, EveryFormatCarriesTheProcessId) {
  auto prefix = StderrPrefix::Compile("%m [%p] %q%u@%d ");
  ASSERT_TRUE(prefix.ok());
  auto e = prefix->Parse(
      "2026-12-07 14:24:58.347 UTC [14145] w@postgres FATAL:  sorry, too "
      "many clients already");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->pid, "14145");
  auto j =
      ParseJsonLogLine(R"({"pid":14145,"error_severity":"LOG","message":"x"})");
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->pid, "14145");
  std::vector<std::string> fields(26);
  fields[3] = "14145";
  fields[11] = "LOG";
  auto c = CsvRecordToEntry(fields);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->pid, "14145");
}

TEST(LogEntryPidTest, WhichFatalsEndALoginAfterItWasAuthorized) {
  struct FatalCase {
    std::string severity, sqlstate, message;
    bool ends;
  };
  const std::vector<FatalCase> cases = {
      {"FATAL", "53300", "too many connections for role \"app\"", true},
      {"FATAL", "28000", "role \"app\" is not permitted to log in", true},
      {"FATAL", "3D000", "database \"gone\" does not exist", true},
      {"FATAL", "42501", "permission denied for database \"shop\"", true},
      {"FATAL", "55000",
       "database \"shop\" is not currently accepting connections", true},
      {"FATAL", "57P01", "terminating connection due to administrator command",
       false},
      {"FATAL", "08006", "connection to client lost", false},
      {"ERROR", "53300", "too many connections for role \"app\"", false},
      {"FATAL", "",
       "remaining connection slots are reserved for roles with "
       "the SUPERUSER attribute",
       true},
      {"FATAL", "", "sorry, too many clients already", true},
      {"FATAL", "", "too many connections for database \"shop\"", true},
      {"FATAL", "", "role \"app\" is not permitted to log in", true},
      {"FATAL", "", "database \"gone\" does not exist", true},
      {"FATAL", "", "permission denied for database \"shop\"", true},
      {"FATAL", "", "database \"shop\" is not currently accepting connections",
       true},
      {"FATAL", "", "terminating connection due to idle-session timeout",
       false},
      {"LOG", "", "connection authorized: user=a database=b", false},
      // A translated severity with a SQLSTATE (csvlog, jsonlog).
      {"SCHWERWIEGEND", "53300", "zu viele Verbindungen", true},
  };
  for (const FatalCase& c : cases) {
    LogEntry e;
    e.severity = c.severity;
    e.sqlstate = c.sqlstate;
    e.message = c.message;
    EXPECT_EQ(EndsAnAuthorizedLogin(e), c.ends)
        << c.severity << " " << c.message;
  }
}

}  // namespace
}  // namespace pgconn
