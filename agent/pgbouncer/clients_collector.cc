// SHOW CLIENTS: PgBouncer's client connections by database, user,
// application_name and state. Behind PgBouncer this is where "connections
// by application" survives: PostgreSQL sees PgBouncer's server connections,
// whose application_name is whatever the last client set, or nothing after
// a reset (docs/pgbouncer.md).
#include <algorithm>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "collect/collector.h"
#include "pgbouncer/columns.h"
#include "pgbouncer/pgbouncer.h"
#include "util/label_text.h"

namespace pgconn {
namespace {

// The client states SHOW CLIENTS reports (1.18+); each is exported for
// every (database, user, application) present, with 0 where none is seen.
// 1.25 added "idle": a client in the active list without a server (between
// transactions, in transaction pooling), which older versions report as
// "active"; it is exported from 1.25 on only, so that an older PgBouncer
// shows no made-up 0 idle clients.
constexpr std::array<std::string_view, 5> kClientStates = {
    "active", "waiting", "active_cancel_req", "waiting_cancel_req", "idle"};
constexpr size_t kStatesBefore1Point25 = 4;
constexpr int kIdleStateVersion = 12500;  // PgBouncer 1.25.0

constexpr std::string_view kUnset = "(unset)";
constexpr std::string_view kOther = "(other)";
constexpr size_t kMaxName = 63;  // NAMEDATALEN - 1, as PostgreSQL cuts

using ClientKey = std::tuple<std::string, std::string, std::string>;

struct PgBouncerClients {
  static constexpr std::string_view kName = "pgbouncer_clients";
  // (database, user, application) -> state -> clients.
  std::map<ClientKey, std::map<std::string, int64_t>> groups;
  int64_t folded_applications = 0;        // distinct names counted as "(other)"
  size_t states = kStatesBefore1Point25;  // of kClientStates, always emitted
};

class PgBouncerClientsCollector final : public CollectorOf<PgBouncerClients> {
 public:
  std::string Statement(const CollectorContext&) const override {
    return "SHOW CLIENTS";
  }

  Result<std::shared_ptr<const Observation>> ParseIn(
      const ResultSet& rows, const CollectorContext& ctx) const override {
    Result<PgBouncerClients> v = Read(rows, ctx.max_applications);
    if (v.ok() && ctx.server_version_num >= kIdleStateVersion) {
      v->states = kClientStates.size();
    }
    if (!v.ok()) return v.status();
    return std::shared_ptr<const Observation>(
        std::make_shared<const Part<PgBouncerClients>>(std::move(*v)));
  }

 protected:
  Result<PgBouncerClients> ParseRows(const ResultSet& rs) const override {
    return Read(rs, CollectorContext{}.max_applications);
  }

  void EmitMetrics(const PgBouncerClients& c, const Labels& t,
                   MetricsWriter* w) const override {
    for (const auto& [key, states] : c.groups) {
      const auto& [database, user, application] = key;
      const Labels base =
          WithLabel(WithLabel(WithLabel(t, "database", database), "user", user),
                    "application", application);
      auto emit = [&](const std::string& state, int64_t n) {
        w->Gauge("pgconn_pgbouncer_client_connections",
                 "Client connections of PgBouncer by database, user, "
                 "application_name (capped at max_applications, the rest "
                 "\"(other)\") and state (SHOW CLIENTS).",
                 WithLabel(base, "state", state), static_cast<double>(n));
      };
      const auto zero_filled = kClientStates.begin() + c.states;
      for (auto s = kClientStates.begin(); s != zero_filled; ++s) {
        auto it = states.find(std::string(*s));
        emit(std::string(*s), it == states.end() ? 0 : it->second);
      }
      // Any other state PgBouncer reports, as it comes.
      for (const auto& [state, n] : states) {
        if (std::find(kClientStates.begin(), zero_filled, state) ==
            zero_filled) {
          emit(state, n);
        }
      }
    }
    w->Gauge("pgconn_pgbouncer_client_applications_folded",
             "Distinct application names of PgBouncer clients counted under "
             "application=\"(other)\" because of max_applications.",
             t, static_cast<double>(c.folded_applications));
  }

 private:
  Result<PgBouncerClients> Read(const ResultSet& rs,
                                int max_applications) const {
    detail::PgBouncerColumns c(name(), rs);
    const int c_db = c.Require({"database"});
    const int c_user = c.Require({"user"});
    const int c_state = c.Require({"state"});
    const int c_app = c.Require({"application_name"});
    if (!c.status().ok()) return c.status();
    struct Row {
      std::string database, user, application, state;
    };
    std::vector<Row> rows;
    std::map<std::string, int64_t> per_app;
    for (const auto& row : rs.rows()) {
      Row r{BoundedLabelValue(CellText(row, c_db), kMaxName),
            BoundedLabelValue(CellText(row, c_user), kMaxName),
            BoundedLabelValue(CellText(row, c_app), kMaxName),
            BoundedLabelValue(CellText(row, c_state), kMaxName)};
      if (r.application.empty()) r.application = std::string(kUnset);
      ++per_app[r.application];
      rows.push_back(std::move(r));
    }
    // Keep the applications with the most clients, as the PostgreSQL
    // activity collector does; ties go to the name that sorts first.
    std::vector<std::pair<int64_t, std::string>> ranked;
    for (const auto& [app, n] : per_app) ranked.emplace_back(-n, app);
    std::sort(ranked.begin(), ranked.end());
    std::map<std::string, bool> kept;
    for (size_t i = 0; i < ranked.size(); ++i) {
      kept[ranked[i].second] = static_cast<int>(i) < max_applications;
    }
    PgBouncerClients out;
    for (const auto& [app, keep] : kept) {
      if (!keep) ++out.folded_applications;
    }
    for (Row& r : rows) {
      if (!kept[r.application]) r.application = std::string(kOther);
      ++out.groups[{r.database, r.user, r.application}][r.state];
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Collector> NewPgBouncerClientsCollector() {
  return std::make_unique<PgBouncerClientsCollector>();
}

}  // namespace pgconn
