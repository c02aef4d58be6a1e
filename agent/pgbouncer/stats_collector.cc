// SHOW STATS_TOTALS: per database, queries, transactions, bytes and the
// time clients spent waiting for a server, since PgBouncer started. Times
// arrive in microseconds and are stored in seconds.
//
// STATS_TOTALS appeared in 1.8 together with the transaction and wait
// columns; older versions answer SHOW STATS, whose totals carry a total_
// prefix (and count requests instead of queries). The version comes from
// the connection, so the choice costs no extra round trip, and the parser
// takes either spelling.
#include <array>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "pgbouncer/columns.h"
#include "pgbouncer/pgbouncer.h"

namespace pgconn {
namespace {

// The SHOW STATS_TOTALS counters, in exposition order.
struct StatsCounter {
  std::string_view name;
  std::string_view help;
  std::optional<double> PgBouncerStats::*value;
};
constexpr StatsCounter kStatsCounters[] = {
    {"pgconn_pgbouncer_transactions_total",
     "Transactions PgBouncer pooled for this database since it started "
     "(SHOW STATS_TOTALS xact_count).",
     &PgBouncerStats::transactions},
    {"pgconn_pgbouncer_queries_total",
     "Queries PgBouncer pooled for this database since it started (SHOW "
     "STATS_TOTALS query_count).",
     &PgBouncerStats::queries},
    {"pgconn_pgbouncer_server_assignments_total",
     "Times a server connection was assigned to a client of this database "
     "(SHOW STATS_TOTALS server_assignment_count, PgBouncer 1.23+).",
     &PgBouncerStats::server_assignments},
    {"pgconn_pgbouncer_received_bytes_total",
     "Bytes PgBouncer received from clients of this database (SHOW "
     "STATS_TOTALS bytes_received).",
     &PgBouncerStats::received_bytes},
    {"pgconn_pgbouncer_sent_bytes_total",
     "Bytes PgBouncer sent to clients of this database (SHOW STATS_TOTALS "
     "bytes_sent).",
     &PgBouncerStats::sent_bytes},
    {"pgconn_pgbouncer_transaction_seconds_total",
     "Time server connections of this database spent in transactions, idle "
     "in transaction included (SHOW STATS_TOTALS xact_time, microseconds "
     "converted).",
     &PgBouncerStats::transaction_seconds},
    {"pgconn_pgbouncer_query_seconds_total",
     "Time server connections of this database spent executing queries "
     "(SHOW STATS_TOTALS query_time, microseconds converted).",
     &PgBouncerStats::query_seconds},
    {"pgconn_pgbouncer_client_wait_seconds_total",
     "Time clients of this database spent waiting for a server connection, "
     "counted when they get one (SHOW STATS_TOTALS wait_time, microseconds "
     "converted).",
     &PgBouncerStats::client_wait_seconds},
};

constexpr int kStatsTotalsVersion = 10800;  // PgBouncer 1.8.0
constexpr double kMicrosecondsPerSecond = 1e6;

class PgBouncerStatsCollector final : public CollectorOf<PgBouncerStatsTotals> {
 public:
  std::string Statement(const CollectorContext& ctx) const override {
    return ctx.server_version_num >= kStatsTotalsVersion ? "SHOW STATS_TOTALS"
                                                         : "SHOW STATS";
  }

 protected:
  Result<PgBouncerStatsTotals> ParseRows(const ResultSet& rs) const override {
    detail::PgBouncerColumns c(name(), rs);
    const int c_db = c.Require({"database"});
    const int c_queries =
        c.Expect({"query_count", "total_query_count", "total_requests"});
    const int c_received = c.Expect({"bytes_received", "total_received"});
    const int c_sent = c.Expect({"bytes_sent", "total_sent"});
    const int c_query_time = c.Expect({"query_time", "total_query_time"});
    const int c_xacts = c.Find({"xact_count", "total_xact_count"});
    const int c_assign =
        c.Find({"server_assignment_count", "total_server_assignment_count"});
    const int c_xact_time = c.Find({"xact_time", "total_xact_time"});
    const int c_wait_time = c.Find({"wait_time", "total_wait_time"});
    if (!c.status().ok()) return c.status();

    std::vector<PgBouncerStats> stats;
    for (const auto& row : rs.rows()) {
      PgBouncerStats st;
      st.database = CellText(row, c_db);
      if (st.database == kPgBouncerAdminDatabase) continue;
      auto values =
          c.Ints(row, std::array{c_queries, c_received, c_sent, c_query_time,
                                 c_xacts, c_assign, c_xact_time, c_wait_time});
      if (!values.ok()) return values.status();
      const auto& [queries, received, sent, query_time, xacts, assign,
                   xact_time, wait_time] = *values;
      // 64-bit counters become doubles: exact up to 2^53, which is 285
      // years of microseconds.
      auto count = [](const std::optional<int64_t>& v) {
        return v ? std::optional<double>(static_cast<double>(*v))
                 : std::nullopt;
      };
      auto seconds = [](const std::optional<int64_t>& v) {
        return v ? std::optional<double>(static_cast<double>(*v) /
                                         kMicrosecondsPerSecond)
                 : std::nullopt;
      };
      st.queries = count(queries);
      st.received_bytes = count(received);
      st.sent_bytes = count(sent);
      st.query_seconds = seconds(query_time);
      st.transactions = count(xacts);
      st.server_assignments = count(assign);
      st.transaction_seconds = seconds(xact_time);
      st.client_wait_seconds = seconds(wait_time);
      stats.push_back(std::move(st));
    }
    PgBouncerStatsTotals out;
    out.stats = std::move(stats);
    out.missing_columns = c.missing();
    return out;
  }

  void EmitMetrics(const PgBouncerStatsTotals& b, const Labels& t,
                   MetricsWriter* w) const override {
    std::vector<const PgBouncerStats*> stats;
    for (const auto& st : b.stats) stats.push_back(&st);
    std::sort(stats.begin(), stats.end(),
              [](auto* x, auto* y) { return x->database < y->database; });
    for (const PgBouncerStats* st : stats) {
      for (const StatsCounter& c : kStatsCounters) {
        const std::optional<double>& v = st->*c.value;
        if (!v) continue;  // not reported by this version
        w->Counter(c.name, c.help, WithLabel(t, "database", st->database), *v);
      }
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewPgBouncerStatsCollector() {
  return std::make_unique<PgBouncerStatsCollector>();
}

}  // namespace pgconn
