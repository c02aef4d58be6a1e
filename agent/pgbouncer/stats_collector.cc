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
#include "pgbouncer/registry.h"

namespace pgconn {
namespace {

constexpr int kStatsTotalsVersion = 10800;  // PgBouncer 1.8.0
constexpr double kMicrosecondsPerSecond = 1e6;

class PgBouncerStatsCollector final : public Collector {
 public:
  std::string_view name() const override { return "pgbouncer_stats"; }

  std::string Statement(const CollectorContext& ctx) const override {
    return ctx.server_version_num >= kStatsTotalsVersion ? "SHOW STATS_TOTALS"
                                                         : "SHOW STATS";
  }

  Status Parse(const ResultSet& rs, Snapshot* out) const override {
    out->pgbouncer.has_stats = false;
    detail::PgBouncerColumns c(name(), rs);
    const int c_db = c.Require({"database"});
    const int c_queries =
        c.Require({"query_count", "total_query_count", "total_requests"});
    const int c_received = c.Require({"bytes_received", "total_received"});
    const int c_sent = c.Require({"bytes_sent", "total_sent"});
    const int c_query_time = c.Require({"query_time", "total_query_time"});
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
    out->pgbouncer.stats = std::move(stats);
    out->pgbouncer.has_stats = true;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Collector> NewPgBouncerStatsCollector() {
  return std::make_unique<PgBouncerStatsCollector>();
}

}  // namespace pgconn
