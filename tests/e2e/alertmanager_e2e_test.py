#!/usr/bin/python3
"""End to end: one incident, one page. A real exhaustion goes through the
real agent, a Prometheus evaluating pgconn's rules and a real Alertmanager
configured from the shipped example (alerts/alertmanager/alertmanager.example.yml),
to a webhook receiver started by the test, which counts the notifications.

The test's copy of the example differs in its timings (group_wait 10 s,
group_interval 10 s, repeat_interval 1 h instead of 30 s / 5 m / 4 h) and in
the receivers' URLs (the test's receiver); its routes, grouping and
inhibit rules are the shipped ones.

The incident: PostgreSQL with 27 usable slots, 3 workers × DB_POOL_MAX 10
(asyncpg pools, tests/e2e/pool_worker.py) whose every task wants a
connection for 70 s. The pools take the 26 slots the agent leaves and the
rest of their connection attempts are refused, over and over. Prometheus
fires PgconnConnectionsRefused and PgconnConnectionsPeakExhausted at once
and PgconnConnectionsExhausted a minute later. The test checks that
  - Alertmanager received all three and muted Exhausted and PeakExhausted
    (inhibited by Refused), while the exhaustion lasted;
  - the receiver got exactly one notification while it lasted: firing,
    group {target="e2e"}, PgconnConnectionsRefused alone;
  - and exactly one more after the workers stopped, once Refused resolved
    (about 2 minutes after the last refusal): resolved, same group, every
    alert of the incident resolved; and nothing after it.

Usage: alertmanager_e2e_test.py AGENT_BINARY SOURCE_DIR
"""
import glob
import os
import sys
import time

import yaml  # python3-yaml

import harness
from harness import Failure, eventually, log

MAX_CONNECTIONS = 30
RESERVED = 3
TIMINGS = {"group_wait": "10s", "group_interval": "10s",
           "repeat_interval": "1h"}
LOAD_SECONDS = 70
TARGET = "e2e"


def test_config(example_path, receiver_url):
    """The example with only its timings and receivers' URLs replaced."""
    with open(example_path) as f:
        config = yaml.safe_load(f)

    def retime(route):
        for key in TIMINGS:
            if key in route:
                route[key] = TIMINGS[key]
        for child in route.get("routes", []):
            retime(child)

    retime(config["route"])
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = receiver_url + "/" + receiver["name"]
    return yaml.safe_dump(config, sort_keys=False)


def alert_names(alerts):
    return sorted({a["labels"]["alertname"] for a in alerts})


def am_states(am):
    """{alertname: (state, inhibitedBy non-empty)} for the test's target."""
    out = {}
    for a in am.api("alerts"):
        if a["labels"].get("target") == TARGET:
            out[a["labels"]["alertname"]] = (a["status"]["state"],
                                             bool(a["status"]["inhibitedBy"]))
    return out


def summary(notes):
    base = notes[0][0] if notes else 0
    return [f"+{t - base:.0f}s {path} {n['status']} "
            f"{alert_names(n['alerts'])} group={n['groupLabels']}"
            for t, path, n in notes]


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    agent_binary, source_dir = argv[1], os.path.abspath(argv[2])
    harness.require(harness.PROMETHEUS, harness.ALERTMANAGER, harness.PSQL,
                    agent_binary)
    rule_files = sorted(glob.glob(os.path.join(source_dir, "alerts/*.yml")))
    example = os.path.join(source_dir,
                           "alerts/alertmanager/alertmanager.example.yml")

    with harness.Stack("pgconn-am-e2e-") as stack:
        receiver = stack.add(harness.WebhookReceiver())
        am = stack.add(harness.Alertmanager(
            stack.root, test_config(example, receiver.url)))
        pg = stack.add(harness.Postgres(stack.root, MAX_CONNECTIONS, RESERVED))
        pg.start()
        agent = stack.add(harness.Agent(
            stack.root, agent_binary,
            "poll_interval: 1s\nconnect_timeout: 2s\nbackoff_max: 1s\n"
            f"targets:\n  - name: {TARGET}\n    host: 127.0.0.1\n"
            f"    port: {pg.port}\n    user: postgres\n    dbname: postgres\n"
            f"    server_log:\n      path: {pg.log_path}\n"
            "      log_line_prefix: '%m [%p] '\n"))
        am.wait_ready()
        prom = stack.add(harness.Prometheus(
            stack.root, [agent.address], rule_files,
            extra_config="alerting:\n  alertmanagers:\n    - static_configs:\n"
                         f"        - targets: [\"{am.address}\"]\n"))
        prom.wait_ready()
        eventually("pgconn_up == 1 in Prometheus",
                   lambda: prom.value(f'pgconn_up{{target="{TARGET}"}}') == 1)
        if receiver.notifications():
            raise Failure(f"notifications before the incident: "
                          f"{summary(receiver.notifications())}")

        plan = [{"seconds": LOAD_SECONDS, "busy": 10, "hold": 0.5}]
        workers = stack.add(harness.Workers(pg, "worker", 3, 1, 10, plan))
        started = workers.start_at
        log(f"3 workers × DB_POOL_MAX 10 against {MAX_CONNECTIONS - RESERVED} "
            f"usable slots for {LOAD_SECONDS} s")
        # While it lasts: the three alerts reach Alertmanager; two are muted.
        eventually(
            "Refused active, PeakExhausted and Exhausted inhibited in Alertmanager",
            lambda: am_states(am).get("PgconnConnectionsRefused") == ("active", False)
            and am_states(am).get("PgconnConnectionsPeakExhausted") == ("suppressed", True)
            and am_states(am).get("PgconnConnectionsExhausted") == ("suppressed", True),
            timeout=LOAD_SECONDS + 10)
        log(f"Alertmanager: {am_states(am)}")
        during = receiver.notifications()
        reports = workers.wait(timeout=120)
        stopped = time.time()
        refused = sum(sum(r["errors"].values()) for r in reports)
        log(f"workers stopped after {stopped - started:.0f} s; "
            f"{refused} refused or failed connection attempts")
        if refused == 0:
            raise Failure("no connection attempt was refused: no incident")
        if len(during) != 1:
            raise Failure(f"expected one notification during the exhaustion, "
                          f"got {summary(during)}")
        first = during[0][2]
        if (first["status"] != "firing"
                or first["groupLabels"] != {"target": TARGET}
                or alert_names(first["alerts"]) != ["PgconnConnectionsRefused"]):
            raise Failure(f"the first notification is {summary(during)}")
        log(f"notification 1, {during[0][0] - started:.0f} s after the load "
            f"started: {first['status']} {alert_names(first['alerts'])}")

        # After it: one resolved notification once Refused resolves (its
        # 2-minute window), then nothing.
        eventually("the resolved notification",
                   lambda: len(receiver.notifications()) >= 2,
                   timeout=180 + 30)
        settle = time.time() + 25
        while time.time() < settle:
            time.sleep(1)
        notes = receiver.notifications()
        if len(notes) != 2:
            raise Failure(f"expected two notifications in all, got {summary(notes)}")
        last = notes[1][2]
        if (last["status"] != "resolved" or last["groupKey"] != first["groupKey"]
                or any(a["status"] != "resolved" for a in last["alerts"])
                or "PgconnConnectionsRefused" not in alert_names(last["alerts"])):
            raise Failure(f"the second notification is {summary(notes)[1]}")
        log(f"notification 2, {notes[1][0] - stopped:.0f} s after the load "
            f"stopped: {last['status']} {alert_names(last['alerts'])}")
        for t, path, n in notes:
            if path != "/pgconn-page":
                raise Failure(f"a notification went to {path}")
        log("PASS")
        return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Failure as e:
        print(f"[e2e] FAIL: {e}", file=sys.stderr)
        sys.exit(1)
