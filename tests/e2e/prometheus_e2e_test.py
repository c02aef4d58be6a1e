#!/usr/bin/python3
"""End to end: a real PostgreSQL (and a PgBouncer in front of it), the real
agent, a real Prometheus.

Prometheus scrapes the agent every second with pgconn's rule files loaded.
The test then
  1. evaluates every alert expression and every dashboard query (with the
     dashboard variables substituted) through Prometheus' HTTP API, and fails
     if one does not parse, names a metric Prometheus has never seen, or (for
     dashboard queries) returns no series (queries on ALERTS must return
     series while the alerts of step 3 are active);
  2. checks that every rule evaluates without error (/api/v1/rules);
  3. opens connections until utilization crosses the warning threshold and
     waits for PgconnConnectionsNearLimit to become pending or firing in
     /api/v1/alerts, fills every usable slot (critical tier and
     PgconnConnectionsExhausted), closes them and waits for the alerts to
     clear; then stops PostgreSQL and waits for PgconnTargetDown.

Usage: prometheus_e2e_test.py AGENT_BINARY SOURCE_DIR
Every server runs on a free loopback port in a temporary directory and is
stopped at the end. A missing server binary is a failure, not a skip.
"""
import glob
import json
import os
import subprocess
import sys
import time

import harness
from harness import Failure, Session, eventually, log

SOURCE_DIR = None

# max_connections 20 with 3 superuser slots: 17 usable. 0.8 x 17 = 13.6, so
# 14 client connections cross the warning threshold (14/17 = 0.82): 13
# sessions of the test and the agent's own, which takes a slot like any.
MAX_CONNECTIONS = 20
RESERVED = 3
USABLE = MAX_CONNECTIONS - RESERVED


def value(prom, expr):
    return prom.value(expr)


def alert_states(prom, name):
    return {(a["labels"].get("severity"), a["state"]): a
            for a in prom.alerts(name)}


def dashboard_queries():
    dashboards = sorted(glob.glob(os.path.join(SOURCE_DIR, "dashboards/*.json")))
    out = subprocess.run(
        [sys.executable, os.path.join(SOURCE_DIR, "tests/dashboards/check_dashboards.py"),
         "--list-queries", "--with-variables", "--rate-interval", "10s"] + dashboards,
        check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def alert_rules(rule_files):
    import yaml  # python3-yaml
    rules = []
    for path in rule_files:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                if "alert" in rule:
                    rules.append((os.path.basename(path), rule))
    return rules


def metric_names(expr):
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests/dashboards"))
    import check_dashboards  # the PromQL lexer the dashboard checker uses
    return sorted({s["name"] for s in check_dashboards.selectors(expr)
                   if s.get("name")})


def reads(q, names):
    return bool(set(metric_names(q["expr"])) & names)


def evaluate(prom, q, problems, require_data=True):
    r = prom.query(q["expr"])
    where = f"dashboard {q['dashboard']} panel {q['panel']!r} ({q['refId']})"
    if r.get("status") != "success":
        problems.append(f"{where}: {r.get('error')}: {q['expr']}")
    elif require_data and not r["data"]["result"]:
        problems.append(f"{where}: no series: {q['expr']}")


def check_alert_queries(prom):
    """The dashboard queries on ALERTS, while an alert is active."""
    problems = []
    queries = [q for q in dashboard_queries() if reads(q, {"ALERTS"})]
    for q in queries:
        evaluate(prom, q, problems)
    if not queries:
        raise Failure("no dashboard query reads ALERTS")
    if problems:
        raise Failure("alert queries:\n  " + "\n  ".join(problems))
    log(f"evaluated {len(queries)} dashboard queries on ALERTS with an alert active")


def check_queries(prom, rule_files):
    problems = []
    queries = dashboard_queries()
    deferred = 0
    for q in queries:
        if reads(q, {"ALERTS"}):
            # Needs an active alert: checked for data in scenario().
            deferred += 1
            evaluate(prom, q, problems, require_data=False)
        else:
            evaluate(prom, q, problems)
    log(f"evaluated {len(queries)} dashboard queries ({deferred} on ALERTS "
        f"only parsed here)")

    rules = alert_rules(rule_files)
    seen_metrics = set()
    for path, rule in rules:
        where = f"{path}: alert {rule['alert']} ({rule['labels'].get('severity')})"
        r = prom.query(rule["expr"])
        if r.get("status") != "success":
            problems.append(f"{where}: {r.get('error')}")
            continue
        for name in metric_names(rule["expr"]):
            if name in seen_metrics:
                continue
            if value(prom, f"count({{__name__={json.dumps(name)}}})") is None:
                problems.append(f"{where}: Prometheus has no series named {name}")
            else:
                seen_metrics.add(name)
    log(f"evaluated {len(rules)} alert expressions; "
        f"{len(seen_metrics)} distinct metrics all present")

    groups = prom.api("rules")["data"]["groups"]
    for g in groups:
        for rule in g["rules"]:
            if rule.get("health") != "ok":
                problems.append(f"rule {rule.get('name')} in group {g['name']}: "
                                f"health {rule.get('health')}: {rule.get('lastError')}")
    if problems:
        raise Failure("queries:\n  " + "\n  ".join(problems))


def check_alert_text(alert):
    for k, v in alert["annotations"].items():
        if "<no value>" in v or "error" in v.lower() and "executing" in v.lower():
            raise Failure(f"annotation {k} of {alert['labels']} renders badly: {v}")


def scenario(pg, prom):
    sessions = []
    try:
        # Warning tier: 14 of 17 usable slots, the agent's included.
        for i in range(13):
            sessions.append(Session(pg, "e2e-worker"))
        eventually("pgconn_used_connections == 14 in Prometheus",
                   lambda: value(prom, 'pgconn_used_connections{target="e2e"}') == 14)
        warn = eventually(
            "PgconnConnectionsNearLimit (warning) pending or firing",
            lambda: alert_states(prom, "PgconnConnectionsNearLimit").get(("warning", "pending"))
            or alert_states(prom, "PgconnConnectionsNearLimit").get(("warning", "firing")))
        check_alert_text(warn)
        log(f"near-limit warning is {warn['state']} at "
            f"{float(warn['value']):.3f} utilization: {warn['annotations']['description'][:120]}...")
        if ("critical", "pending") in alert_states(prom, "PgconnConnectionsNearLimit"):
            raise Failure("critical tier pending at 82 % utilization")

        # Every usable slot: critical tier and exhaustion.
        for i in range(USABLE - 14):
            sessions.append(Session(pg, "e2e-bot"))
        eventually("pgconn_available_connections == 0",
                   lambda: value(prom, 'pgconn_available_connections{target="e2e"}') == 0)
        eventually("PgconnConnectionsNearLimit (critical) pending",
                   lambda: any(k[0] == "critical" for k in
                               alert_states(prom, "PgconnConnectionsNearLimit")))
        exhausted = eventually("PgconnConnectionsExhausted pending",
                               lambda: next(iter(alert_states(prom, "PgconnConnectionsExhausted").values()), None))
        check_alert_text(exhausted)
        log("all usable slots taken: critical tier and PgconnConnectionsExhausted are active")
        check_alert_queries(prom)
    finally:
        for s in sessions:
            s.close()
    eventually("pgconn_used_connections == 1 (the agent) after closing",
               lambda: value(prom, 'pgconn_used_connections{target="e2e"}') == 1)
    eventually("near-limit and exhausted alerts clear",
               lambda: not alert_states(prom, "PgconnConnectionsNearLimit")
               and not alert_states(prom, "PgconnConnectionsExhausted"))
    log("connections closed: the alerts cleared")

    pg.stop()
    down = eventually("PgconnTargetDown pending",
                      lambda: next(iter(alert_states(prom, "PgconnTargetDown").values()), None))
    check_alert_text(down)
    if alert_states(prom, "PgconnConnectionsNearLimit"):
        raise Failure("a near-limit alert is active for a target that is down")
    log("PostgreSQL stopped: PgconnTargetDown is pending")
    pg.start()
    eventually("pgconn_up back to 1",
               lambda: value(prom, 'pgconn_up{target="e2e"}') == 1)
    eventually("PgconnTargetDown clears",
               lambda: not alert_states(prom, "PgconnTargetDown"))
    log("PostgreSQL restarted: pgconn_up is 1 again and the alert cleared")


def main(argv):
    global SOURCE_DIR
    if len(argv) != 3:
        print(__doc__)
        return 2
    agent_binary, SOURCE_DIR = argv[1], os.path.abspath(argv[2])
    harness.require(harness.PROMETHEUS, harness.PSQL, harness.PGBOUNCER,
                    agent_binary)
    rule_files = sorted(glob.glob(os.path.join(SOURCE_DIR, "alerts/*.yml")))
    if not rule_files:
        raise Failure("no alerts/*.yml")

    with harness.Stack() as stack:
        pg = stack.add(harness.Postgres(stack.root, MAX_CONNECTIONS, RESERVED))
        pg.start()
        # Data for the per-database and per-role panels and alerts.
        pg.sql("CREATE DATABASE e2e_limited CONNECTION LIMIT 5")
        pg.sql("CREATE ROLE e2e_role LOGIN CONNECTION LIMIT 3")
        limited = [Session(pg, "e2e-limited", user="e2e_role", db="e2e_limited")]
        # The pool-budget panels: "e2e-limited" is a declared pool (below),
        # "e2e-undeclared" is not.
        limited.append(Session(pg, "e2e-undeclared"))
        # One client through PgBouncer makes a pool and its statistics.
        bouncer = stack.add(harness.PgBouncer(stack.root, pg))
        limited.append(Session(bouncer, "e2e-through-pgbouncer"))

        agent = stack.add(harness.Agent(
            stack.root, agent_binary,
            "poll_interval: 500ms\nconnect_timeout: 2s\nbackoff_max: 1s\n"
            "targets:\n  - name: e2e\n    host: 127.0.0.1\n"
            f"    port: {pg.port}\n    user: postgres\n    dbname: postgres\n"
            "    overhead: 2\n    pools:\n      - application: e2e-limited\n"
            "        replicas: 1\n        pool_min: 0\n        pool_max: 3\n"
            # pg_ctl -l writes the server's stderr there, with
            # initdb's default log_line_prefix.
            f"    server_log:\n      path: {pg.log_path}\n"
            "      log_line_prefix: '%m [%p] '\n"
            "  - name: e2e-bouncer\n    type: pgbouncer\n"
            f"    host: 127.0.0.1\n    port: {bouncer.port}\n"
            "    user: postgres\n"))

        prom = stack.add(harness.Prometheus(stack.root, [agent.address],
                                            rule_files))
        prom.wait_ready()
        eventually("pgconn_up == 1 scraped by Prometheus",
                   lambda: value(prom, 'pgconn_up{target="e2e"}') == 1)
        eventually("the limited role's session in Prometheus",
                   lambda: value(prom, 'pgconn_user_connections{user="e2e_role"}') == 1)
        eventually("the PgBouncer pool's statistics in Prometheus",
                   lambda: value(prom, 'pgconn_pgbouncer_transactions_total'
                                       '{target="e2e-bouncer"}'))
        # rate() needs two samples of every counter.
        time.sleep(3)
        check_queries(prom, rule_files)
        for s in limited:
            s.close()
        # Its idle server connection would count in the scenario's exact
        # numbers of PostgreSQL connections.
        bouncer.stop()
        scenario(pg, prom)
        log("PASS")
        return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Failure as e:
        print(f"[e2e] FAIL: {e}", file=sys.stderr)
        sys.exit(1)
