// The live status page: what every target's last published report says,
// as the pooling guide draws it (connections by application against the
// usable limit and the headroom line, the warning signs in plain words).
// The model (status_page.cc) becomes the JSON of /api/v1/status
// (status_json.cc); the page at / is static (status_page.html, .css, .js,
// embedded at build time) and draws that JSON in the browser. Pure
// functions of the reports: no clock, no database, no I/O.
#ifndef PGCONN_AGENT_RUNTIME_STATUS_PAGE_H_
#define PGCONN_AGENT_RUNTIME_STATUS_PAGE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/publisher.h"
#include "postgres/used_history.h"
#include "runtime/report.h"

namespace pgconn {

// Where the page links each warning sign's runbook: the same base URL as
// the runbook_url annotations of alerts/*.yml.
inline constexpr std::string_view kRunbookBaseUrl =
    "https://github.com/pgconn/pgconn/blob/main/docs/runbooks/";

// One active warning sign: the alert that fires on it (its runbook is
// docs/runbooks/<alert>.md), what is wrong now and the guide's advice.
struct WarningSign {
  std::string alert;
  std::string severity;  // "critical", "warning" or "info", as the alert's
  std::string summary;
  std::string advice;
};

struct ApplicationStatus {
  std::string application;  // as exported: capped, "(unset)", "(other)"
  int64_t connections = 0;
  std::map<std::string, int64_t> states;  // only states it has
  double oldest_idle_in_transaction_seconds = 0;
};

struct DeclaredPoolStatus {
  std::string application;
  int64_t replicas = 0;
  int64_t declared_max = 0;
  int64_t connections = 0;
  int64_t excess = 0;
  int64_t pool_max = 0;  // per worker (DB_POOL_MAX)
  int64_t pool_min = 0;  // per worker (DB_POOL_MIN)
  int64_t busy = 0;      // checked out at the last poll
  // The highest busy count any poll saw within the peak window, and the
  // seconds at capacity since the agent started (pool_evidence.h).
  double busy_peak = 0;
  double saturated_seconds = 0;
};

struct PoolBudgetStatus {
  int64_t declared_max_total = 0;
  int64_t overhead = 0;
  int64_t budget = 0;
  std::optional<double> budget_ratio;  // budget / usable
  std::optional<bool> overcommitted;
  int64_t monitoring_agents = 1;
  std::vector<DeclaredPoolStatus> declared;
};

// The last hour of used connections (postgres/used_history.h).
struct UsedHistoryStatus {
  std::vector<UsedSample> samples;  // oldest first
  double poll_interval_seconds = 0;
};

struct BouncerPoolStatus {
  std::string database;
  std::string user;
  int64_t waiting_clients = 0;
  double max_wait_seconds = 0;
};

struct BouncerStatus {
  int64_t waiting_clients = 0;
  int64_t logical_connections = 0;
  int64_t physical_connections = 0;
  std::optional<double> client_utilization;
  std::vector<BouncerPoolStatus> pools;
};

// PostgreSQL connections of one target, where both the settings and the
// activity of its last snapshot are known.
struct ConnectionStatus {
  int64_t max_connections = 0;
  int64_t reserved = 0;
  int64_t usable = 0;
  int64_t used = 0;
  int64_t available = 0;
  double utilization = 0;
  double near_limit_threshold = 0.8;
  // The headroom line: threshold × usable connections.
  double headroom_connections = 0;
  std::map<std::string, int64_t> states;  // every known state, 0 included
  double idle_ratio = 0;
  double oldest_idle_in_transaction_seconds = 0;
  int64_t lock_waiting = 0;
  std::vector<ApplicationStatus> applications;  // most connections first
  // The highest used connections and utilization any poll saw within the
  // peak window (peak_window), when the peak stage ran.
  std::optional<double> peak_used;
  std::optional<double> peak_utilization;
  double peak_window_seconds = 0;
};

struct TargetStatus {
  std::string name;
  std::string kind;  // "postgres" or "pgbouncer"
  bool up = false;
  bool polled = false;           // at least one poll has finished
  double last_success_unix = 0;  // 0: never
  std::optional<ConnectionStatus> connections;
  std::optional<PoolBudgetStatus> pools;
  std::optional<BouncerStatus> pgbouncer;
  std::optional<UsedHistoryStatus> history;
  std::vector<WarningSign> warnings;  // most severe first
};

struct StatusModel {
  std::vector<TargetStatus> targets;  // in the reports' order
};

StatusModel BuildStatusModel(const std::vector<TargetReport>& reports);

// The JSON document of /api/v1/status (see docs/status-page.md); the page
// fetches it again every `refresh_seconds`.
std::string RenderStatusJson(const StatusModel& model, int refresh_seconds);

// The page's static files: / (HTML), /status.css and /status.js.
std::vector<StatusPage::Asset> StatusPageAssets();

// The JSON of the reports, with the page's files.
std::shared_ptr<const StatusPage> BuildStatusPage(
    const std::vector<TargetReport>& reports, int refresh_seconds);

}  // namespace pgconn

#endif  // PGCONN_AGENT_RUNTIME_STATUS_PAGE_H_
