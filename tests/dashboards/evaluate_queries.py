#!/usr/bin/python3
"""Evaluates every dashboard query with promtool, offline.

    evaluate_queries.py [--promtool PATH] DASHBOARD.json...

Takes the queries that `check_dashboards.py --list-queries --with-variables`
prints (variables substituted), and:

 1. checks that each one parses: `promtool check rules` on a generated rule
    file with one rule per query;
 2. checks that each one returns data: `promtool test rules` evaluates
    `count(<query>) > 0` against synthetic series shaped like the metric
    contract (the golden files' metrics: every metric with job, instance, target and
    its own labels; counters increasing), so a misspelt metric or label, or a
    join that matches nothing, fails here instead of showing "No data".

This is a static check: the end-to-end test against a real agent and a real
Prometheus still has to show the same queries work on real data.
Standard library only; needs promtool (Debian package "prometheus").
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_dashboards  # noqa: E402

# Labels each metric carries besides job, instance and target, with the
# values used in the synthetic series.
EXTRA_LABELS = {
    "pgconn_connections": {"application": ["worker", "(unset)"],
                           "state": ["active", "idle", "idle in transaction"]},
    "pgconn_application_client_addresses": {"application": ["worker"]},
    "pgconn_database_connections": {"database": ["app"]},
    "pgconn_database_connection_limit": {"database": ["app"]},
    "pgconn_database_connection_utilization_ratio": {"database": ["app"]},
    "pgconn_user_connections": {"user": ["worker"]},
    "pgconn_user_connection_limit": {"user": ["worker"]},
    "pgconn_user_connection_utilization_ratio": {"user": ["worker"]},
    "pgconn_oldest_idle_in_transaction_seconds": {"application": ["worker"]},
    "pgconn_oldest_idle_seconds": {"application": ["worker"]},
    "pgconn_oldest_transaction_seconds": {"application": ["worker"]},
    "pgconn_backends": {"backend_type": ["autovacuum worker", "walsender"]},
    "pgconn_poll_errors_total": {"reason": ["connect", "too_many_clients"]},
    "pgconn_collector_success": {"collector": ["activity", "databases",
                                               "pgbouncer_pools"]},
    "pgconn_collector_duration_seconds": {"collector": ["activity",
                                                       "databases"]},
}
# Declared pools: per declared application, and per undeclared one.
EXTRA_LABELS.update({
    name: {"application": ["worker"]}
    for name in ("pgconn_pool_declared_replicas",
                 "pgconn_pool_declared_max_connections",
                 "pgconn_pool_declared_min_connections",
                 "pgconn_pool_utilization_ratio", "pgconn_pool_busy_ratio",
                 "pgconn_pool_excess_connections",
                 "pgconn_pool_idle_above_min_connections")
})
EXTRA_LABELS.update({
    name: {"application": ["psql", "(other)"]}
    for name in ("pgconn_undeclared_connections",
                 "pgconn_undeclared_share_ratio")
})
# PgBouncer targets: per pool (database, user), per database, per setting.
_PGBOUNCER_POOL = {"database": ["app"], "user": ["worker"]}
EXTRA_LABELS.update({
    "pgconn_pgbouncer_clients": dict(_PGBOUNCER_POOL,
                                     state=["active", "waiting"]),
    "pgconn_pgbouncer_servers": dict(_PGBOUNCER_POOL, state=["active", "idle"]),
    "pgconn_pgbouncer_max_wait_seconds": _PGBOUNCER_POOL,
    "pgconn_pgbouncer_server_pool_utilization_ratio": _PGBOUNCER_POOL,
    "pgconn_pgbouncer_pool_mode": {"mode": ["transaction", "session"]},
    "pgconn_pgbouncer_list_items": {"list": ["used_clients", "pools"]},
})
EXTRA_LABELS.update({
    name: {"database": ["app"]} for name in (
        "pgconn_pgbouncer_database_pool_size",
        "pgconn_pgbouncer_database_reserve_pool_size",
        "pgconn_pgbouncer_database_server_connections",
        "pgconn_pgbouncer_database_server_connection_limit",
        "pgconn_pgbouncer_database_client_connections",
        "pgconn_pgbouncer_database_client_connection_limit",
        "pgconn_pgbouncer_database_paused",
        "pgconn_pgbouncer_database_disabled",
        "pgconn_pgbouncer_transactions_total",
        "pgconn_pgbouncer_queries_total",
        "pgconn_pgbouncer_server_assignments_total",
        "pgconn_pgbouncer_received_bytes_total",
        "pgconn_pgbouncer_sent_bytes_total",
        "pgconn_pgbouncer_transaction_seconds_total",
        "pgconn_pgbouncer_query_seconds_total",
        "pgconn_pgbouncer_client_wait_seconds_total",
    )})
# Issue 10's metrics.
EXTRA_LABELS.update({
    "pgconn_connections_refused_total": {"reason": ["max_connections",
                                                    "reserved_slots"]},
    "pgconn_sessions_terminated_total": {"reason": [
        "idle_in_transaction_timeout"]},
    "pgconn_connections_opened_total": {"application": ["worker"]},
    "pgconn_application_connections_peak": {"application": ["worker"]},
    "pgconn_pgbouncer_waiting_clients_peak": _PGBOUNCER_POOL,
    "pgconn_pgbouncer_client_connections": dict(
        _PGBOUNCER_POOL, application=["worker"], state=["active", "waiting"]),
})
# The right-sizing evidence of issue 20.
EXTRA_LABELS.update({
    name: {"application": ["worker"]}
    for name in ("pgconn_pool_declared_worker_max_connections",
                 "pgconn_pool_declared_worker_min_connections",
                 "pgconn_pool_busy_connections",
                 "pgconn_pool_busy_peak_connections",
                 "pgconn_pool_saturated_seconds_total",
                 "pgconn_pool_busy_seconds_total")
})
# Rule files whose recording rules (pgconn:...) the dashboards read.
RECORDING_RULE_FILES = ["alerts/pgconn-capacity.rules.yml"]
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
# Series that Prometheus itself makes: the alerts the dashboards show.
PROMETHEUS_SERIES = [
    'ALERTS{alertname="PgconnConnectionsNearLimit", alertstate="firing", '
    'severity="warning", job="pgconn", instance="agent:9188", target="db1"}',
]
# Metrics without a target label.
NO_TARGET = {"pgconn_build_info": {"version": ["0.1.0"],
                                   "revision": ["abc123"]}}
STEPS = 40  # samples at 15 s: ten minutes of data


def _label_sets(extra):
    sets = [{}]
    for label, values in extra.items():
        sets = [dict(s, **{label: v}) for s in sets for v in values]
    return sets


def synthetic_series(contract):
    series = []
    for metric in sorted(contract):
        if metric in NO_TARGET:
            base = {"job": "pgconn", "instance": "agent:9188"}
            extra = NO_TARGET[metric]
        else:
            base = {"job": "pgconn", "instance": "agent:9188",
                    "target": "db1"}
            extra = EXTRA_LABELS.get(metric, {})
        values = f"0+1x{STEPS}" if metric.endswith("_total") else f"1x{STEPS}"
        for labels in _label_sets(extra):
            all_labels = dict(base, **labels)
            text = ",".join(f"{k}={json.dumps(v)}"
                            for k, v in sorted(all_labels.items()))
            series.append({"series": f"{metric}{{{text}}}", "values": values})
    for text in PROMETHEUS_SERIES:
        series.append({"series": text, "values": f"1x{STEPS}"})
    return series


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dashboards", nargs="+", metavar="DASHBOARD.json")
    parser.add_argument("--promtool", default=os.environ.get("PROMTOOL",
                                                             "promtool"))
    parser.add_argument("--metrics", default=check_dashboards.DEFAULT_METRICS)
    args = parser.parse_args(argv)

    promtool = shutil.which(args.promtool)
    if not promtool:
        print(f"evaluate_queries: {args.promtool} not found", file=sys.stderr)
        return 1
    contract = check_dashboards.load_contract(args.metrics)
    if not contract:
        print(f"evaluate_queries: no metric contract at "
              f"{args.metrics or check_dashboards.GOLDEN_DIR}",
              file=sys.stderr)
        return 1

    list_args = argparse.Namespace(rate_interval="1m", interval="15s",
                                   range="1h", with_variables=True)
    queries = []
    for path in args.dashboards:
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
        queries.extend(check_dashboards.list_queries(dash, path, list_args))
    if not queries:
        print("evaluate_queries: no queries found", file=sys.stderr)
        return 1

    rules = []
    cases = []
    for n, q in enumerate(queries):
        name = f"DashboardQuery{n}"
        rules.append({"alert": name, "expr": f"count({q['expr']}) > 0"})
        cases.append({"eval_time": "9m", "alertname": name,
                      "exp_alerts": [{"exp_labels": {}}]})

    with tempfile.TemporaryDirectory(prefix="pgconn-dashboards-") as tmp:
        rule_file = os.path.join(tmp, "queries.rules.json")
        test_file = os.path.join(tmp, "queries.test.json")
        with open(rule_file, "w", encoding="utf-8") as f:
            json.dump({"groups": [{"name": "dashboard-queries",
                                   "rules": rules}]}, f, indent=1)
        with open(test_file, "w", encoding="utf-8") as f:
            json.dump({"rule_files": [rule_file] + [
                           os.path.join(REPO, r) for r in RECORDING_RULE_FILES],
                       "evaluation_interval": "15s",
                       "tests": [{"interval": "15s",
                                  "input_series": synthetic_series(contract),
                                  "alert_rule_test": cases}]}, f, indent=1)
        index = "\n".join(f"  DashboardQuery{n}: {q['dashboard']} / "
                          f"{q['panel']} / {q['refId']}: {q['expr']}"
                          for n, q in enumerate(queries))
        for step, cmd in (
                ("parse", [promtool, "check", "rules", rule_file]),
                ("evaluate", [promtool, "test", "rules", test_file])):
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                print(res.stdout + res.stderr)
                print(f"evaluate_queries: {step} failed; queries:\n{index}")
                return 1
    print(f"evaluate_queries: {len(queries)} queries parse and return data "
          "on contract-shaped series")
    return 0


if __name__ == "__main__":
    sys.exit(main())
