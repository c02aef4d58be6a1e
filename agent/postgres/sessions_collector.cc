// Session counters per database from pg_stat_database (PostgreSQL 14+): how
// many sessions were established, how they ended (client gone without
// closing, a FATAL error, terminated by an operator or a timeout) and where
// their time went. The clean signal for connection churn: pools that
// recycle connections (DB_MAX_QUERIES, DB_MAX_IDLE_TIME) and reconnect
// storms show as sessions_total rising faster than the connection count.
//
// Databases beyond max_databases, by number of sessions, are folded into
// "(other)"; the ranking follows a monotonic counter, so membership changes
// only when one database's sessions overtake another's.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "collect/collector.h"
#include "postgres/observations.h"

namespace pgconn {
namespace {

constexpr int kFirstVersion = 140000;  // the session columns arrived in 14

struct DatabaseSessions {
  std::string database;
  double sessions = 0;
  double abandoned = 0;
  double fatal = 0;
  double killed = 0;
  double session_seconds = 0;
  double active_seconds = 0;
  double idle_in_transaction_seconds = 0;
};

struct SessionStats {
  static constexpr std::string_view kName = "sessions";
  std::vector<DatabaseSessions> databases;  // sorted by name
};

// One exported counter: its column, its family and how to read it.
struct Counter {
  std::string_view column;
  std::string_view family;
  std::string_view help;
  double DatabaseSessions::*value;
  bool milliseconds;  // the view reports milliseconds; we export seconds
};

constexpr std::array<Counter, 7> kCounters = {{
    {"sessions", "pgconn_database_sessions_total",
     "Sessions established to the database since the statistics were reset "
     "(pg_stat_database.sessions, PostgreSQL 14+).",
     &DatabaseSessions::sessions, false},
    {"sessions_abandoned", "pgconn_database_sessions_abandoned_total",
     "Sessions of the database that ended because the client went away "
     "without closing them (pg_stat_database.sessions_abandoned).",
     &DatabaseSessions::abandoned, false},
    {"sessions_fatal", "pgconn_database_sessions_fatal_total",
     "Sessions of the database that ended with a FATAL error "
     "(pg_stat_database.sessions_fatal); refused logins are not counted "
     "here.",
     &DatabaseSessions::fatal, false},
    {"sessions_killed", "pgconn_database_sessions_killed_total",
     "Sessions of the database terminated by an operator or a timeout "
     "(pg_terminate_backend, idle_in_transaction_session_timeout; "
     "pg_stat_database.sessions_killed).",
     &DatabaseSessions::killed, false},
    {"session_time", "pgconn_database_session_seconds_total",
     "Time sessions of the database have spent connected "
     "(pg_stat_database.session_time, milliseconds converted).",
     &DatabaseSessions::session_seconds, true},
    {"active_time", "pgconn_database_active_seconds_total",
     "Time sessions of the database have spent executing statements "
     "(pg_stat_database.active_time, milliseconds converted).",
     &DatabaseSessions::active_seconds, true},
    {"idle_in_transaction_time",
     "pgconn_database_idle_in_transaction_seconds_total",
     "Time sessions of the database have spent idle in a transaction "
     "(pg_stat_database.idle_in_transaction_time, milliseconds converted).",
     &DatabaseSessions::idle_in_transaction_seconds, true},
}};

class SessionsCollector final : public CollectorOf<SessionStats> {
 public:
  bool Supports(int server_version_num) const override {
    return server_version_num >= kFirstVersion;
  }

  std::string Statement(const CollectorContext& ctx) const override {
    std::string sums;
    for (const Counter& c : kCounters) {
      sums +=
          ", sum(" + std::string(c.column) + ") AS " + std::string(c.column);
    }
    // The databases that accept connections, as the databases collector
    // lists them: not template0, not the row of shared objects (datid 0).
    return "WITH r AS (SELECT s.*, row_number() OVER"
           " (ORDER BY s.sessions DESC, s.datname) <= " +
           std::to_string(ctx.max_databases) +
           " AS kept FROM pg_stat_database s"
           " JOIN pg_database d ON d.oid = s.datid WHERE d.datallowconn)"
           " SELECT CASE WHEN kept THEN datname END AS name" +
           sums + " FROM r GROUP BY 1";
  }

 protected:
  Result<SessionStats> ParseRows(const ResultSet& rs) const override {
    const int c_name = rs.ColumnIndex("name");
    std::array<int, kCounters.size()> columns{};
    for (size_t i = 0; i < kCounters.size(); ++i) {
      columns[i] = rs.ColumnIndex(kCounters[i].column);
      if (columns[i] < 0) {
        return Status::InvalidData("sessions: missing column " +
                                   std::string(kCounters[i].column));
      }
    }
    if (c_name < 0) return Status::InvalidData("sessions: missing column name");
    SessionStats out;
    for (const auto& row : rs.rows()) {
      DatabaseSessions d;
      d.database = CellText(row, c_name, kOtherLabel);
      for (size_t i = 0; i < kCounters.size(); ++i) {
        auto v = CellDouble(rs, row, columns[i], 0);
        if (!v.ok()) return v.status().WithContext("sessions");
        d.*kCounters[i].value = kCounters[i].milliseconds ? *v / 1000 : *v;
      }
      out.databases.push_back(std::move(d));
    }
    std::sort(
        out.databases.begin(), out.databases.end(),
        [](const auto& a, const auto& b) { return a.database < b.database; });
    return out;
  }

  void EmitMetrics(const SessionStats& s, const Labels& t,
                   MetricsWriter* w) const override {
    for (const Counter& c : kCounters) {
      for (const DatabaseSessions& d : s.databases) {
        w->Counter(c.family, c.help, WithLabel(t, "database", d.database),
                   d.*c.value);
      }
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewSessionsCollector() {
  return std::make_unique<SessionsCollector>();
}

}  // namespace pgconn
