#!/usr/bin/python3
"""`pgconn-agent plan --from-prometheus` against a real Prometheus that holds
a known history, backfilled with `promtool tsdb create-blocks-from
openmetrics`, so that every expected answer is exact.

The history (two hours ending at END, a whole hour at least an hour ago, one
sample a minute, on the minute, and a few samples before the window):

  target "main": 100 max_connections, 3 reserved (97 usable), threshold 0.8,
  overhead 10, peak window 60 s; used connections 40 rising 0.1 a minute
  (the least-squares line reaches 97 7.5 hours after END).
    worker  10 replicas, DB_POOL_MAX 10, DB_POOL_MIN 2: busy peak 20, 30 once
            in the window, 40 at the window's first sample (a peak the agent
            saw in the minute BEFORE the window: must not count) and 50 before
            the window; busy 4 (30 samples), 8 (61), 12 (30): median 8.
    bot     1 replica, 5 / 1: busy peak 5 = capacity, saturated 870 s in the
            window (the counter goes 100 -> 970), busy median 2.
    batch   0 replicas: listed, skipped.
  target "short": the same limits, data for the last 30 minutes only (too
  little history: the rule gives 7 for its 4 replicas with a busy peak of
  20, but nothing is lowered).

Expected (margin 0.25): worker DB_POOL_MAX 10 -> 4, DB_POOL_MIN 2 -> 1; bot
5 -> 7 (censored: max(6, ceil(6.25))), 1 -> 2; verdict ok at 58 connections
(declared: over_limit, 116); exhaustion in 27000 s. "short": held back.

Usage: plan_backfill_test.py AGENT_BINARY
"""
import json
import os
import subprocess
import sys
import time

import harness
from harness import Failure, log

WINDOW = 7200
STEP = 60


def om_line(name, labels, value, ts):
    text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{name}{{{text}}} {value} {ts}"


def history(end):
    """The OpenMetrics text: families, each with its series, in time order."""
    start = end - WINDOW
    main_times = list(range(start - 5 * STEP, end + 1, STEP))  # 5 before
    short_times = list(range(end - 1800, end + 1, STEP))
    base = {"job": "pgconn", "instance": "agent:9188"}
    fam = {}  # name -> (type, [lines])

    def add(name, kind, labels, ts, value):
        fam.setdefault(name, (kind, []))[1].append(
            om_line(name + ("_total" if kind == "counter" else ""),
                    dict(base, **labels), value, ts))

    def k_of(t):
        return (t - start) // STEP  # 0 at the window's start, 120 at END

    for target, times in (("main", main_times), ("short", short_times)):
        t_labels = {"target": target}
        for t in times:
            k = k_of(t)
            for name, value in (
                    ("pgconn_up", 1), ("pgconn_max_connections", 100),
                    ("pgconn_reserved_connections", 3),
                    ("pgconn_usable_connections", 97),
                    ("pgconn_near_limit_threshold_ratio", 0.8),
                    ("pgconn_pool_overhead_connections", 10),
                    ("pgconn_peak_window_seconds", 60),
                    ("pgconn_used_connections", round(40 + 0.1 * k, 6)),
                    ("pgconn_used_connections_peak", round(45 + 0.1 * k, 6))):
                add(name, "gauge", t_labels, t, value)
        pools = {"worker": (10, 10, 2), "bot": (1, 5, 1), "batch": (0, 10, 0)}
        if target == "short":
            pools = {"worker": (4, 10, 2)}
        for app, (replicas, pmax, pmin) in pools.items():
            labels = dict(t_labels, application=app)
            for t in times:
                k = k_of(t)
                if app == "worker":
                    peak = 50 if k < 0 else 40 if k == 0 else 30 if k == 60 else 20
                    busy = 4 if 0 <= k < 30 else 12 if 90 <= k < 120 else 8
                    if k < 0:
                        busy = 40
                    saturated = 0
                elif app == "bot":
                    peak, busy = 5, 2
                    saturated = 100 + 87 * min(max(k - 49, 0), 10)
                else:
                    peak, busy, saturated = 0, 0, 0
                for name, value in (
                        ("pgconn_pool_declared_replicas", replicas),
                        ("pgconn_pool_declared_worker_max_connections", pmax),
                        ("pgconn_pool_declared_worker_min_connections", pmin),
                        ("pgconn_pool_busy_connections", busy),
                        ("pgconn_pool_busy_peak_connections", peak)):
                    add(name, "gauge", labels, t, value)
                add("pgconn_pool_saturated_seconds", "counter", labels, t,
                    saturated)
    for t in main_times:
        add("up", "gauge", {}, t, 1)
    out = []
    for name, (kind, lines) in fam.items():
        out.append(f"# TYPE {name} {kind}")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"


def plan(binary, url, *args):
    res = subprocess.run([binary, "plan", f"--from-prometheus={url}", *args],
                         capture_output=True, text=True, timeout=60)
    return res.returncode, res.stdout, res.stderr


def expect(what, got, want):
    if got != want:
        raise Failure(f"{what}: got {got!r}, want {want!r}")


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    binary = argv[1]
    harness.require(harness.PROMETHEUS, harness.PROMTOOL, binary)
    started = time.monotonic()
    end = (int(time.time()) // 3600 - 1) * 3600
    with harness.Stack("pgconn-backfill-") as stack:
        om = os.path.join(stack.root, "history.om")
        with open(om, "w") as f:
            f.write(history(end))
        prom = stack.add(harness.Prometheus(stack.root, [], backfill=om))
        prom.wait_ready()
        harness.eventually(
            "the backfilled blocks loaded",
            lambda: prom.value("count(pgconn_up)", time=end) == 2)
        common = [f"--end={end}", "--window=2h"]

        code, out, err = plan(binary, prom.url, *common, "--output=json")
        expect("exit code (every verdict ok)", (code, err), (0, ""))
        doc = json.loads(out)
        targets = {t["target"]: t for t in doc["targets"]}
        expect("targets", sorted(targets), ["main", "short"])
        main_t = targets["main"]
        for key, want in (("verdict", "ok"), ("declared_verdict", "over_limit"),
                          ("recommended_total_connections", 58),
                          ("declared_total_connections", 116),
                          ("usable_connections", 97),
                          ("headroom_connections", 77),
                          ("overhead_connections", 10),
                          ("evidence_complete", True),
                          ("insufficient_history", [])):
            expect(f"main {key}", main_t[key], want)
        eta = main_t["exhaustion_eta_seconds"]
        if eta is None or abs(eta - 27000) > 1e-6 * 27000:
            raise Failure(f"main exhaustion_eta_seconds: {eta}, want 27000")
        apps = {a["application"]: a for a in main_t["applications"]}
        want_apps = {
            "worker": dict(replicas=10, pool_max=10, pool_min=2,
                           busy_peak_connections=30, busy_median_connections=8,
                           saturated=False, saturated_seconds=0,
                           recommended_pool_max=4, recommended_pool_min=1,
                           state="sized"),
            "bot": dict(replicas=1, pool_max=5, pool_min=1,
                        busy_peak_connections=5, busy_median_connections=2,
                        saturated=True, saturated_seconds=870,
                        recommended_pool_max=7, recommended_pool_min=2,
                        state="sized"),
            "batch": dict(replicas=0, recommended_pool_max=10,
                          state="zero_replicas"),
        }
        expect("main applications", sorted(apps), sorted(want_apps))
        for app, want in want_apps.items():
            for key, value in want.items():
                expect(f"main {app} {key}", apps[app][key], value)
        log("main: worker 10 -> 4 / 2 -> 1 (busy peak 30, the 40 of the "
            "minute before the window left out), bot 5 -> 7 (saturated 870 s), "
            "verdict ok at 58, exhaustion in 7.5 h")

        short = targets["short"]
        expect("short evidence_complete", short["evidence_complete"], False)
        if not any("after the window's start" in r
                   for r in short["insufficient_history"]):
            raise Failure(f"short: {short['insufficient_history']}")
        w = short["applications"][0]
        expect("short worker held back", (w["held_back"], w["rule_pool_max"],
                                          w["recommended_pool_max"]),
               (True, 7, 10))
        log("short: " + short["insufficient_history"][0])

        code, out, err = plan(binary, prom.url, *common)
        expect("table exit code", code, 0)
        print(out, flush=True)
        for want in ("Target main", "worker           10       10 -> 4",
                     "bot              1        5 -> 7",
                     "bot: the pools were full for 14m 30s of the window",
                     "too little history: the history starts at",
                     "max by (application) (max_over_time("
                     "pgconn_pool_busy_peak_connections{target=\"main\"}"
                     "[1h59m]))"):
            if want not in out:
                raise Failure(f"table lacks {want!r}:\n{out}")

        code, out, err = plan(binary, prom.url, *common, "--target=main",
                              "--output=env")
        expect("env exit code", code, 0)
        if "DB_POOL_MIN=1\nDB_POOL_MAX=4\n" not in out or \
                "DB_POOL_MIN=2\nDB_POOL_MAX=7\n" not in out:
            raise Failure(f"env output:\n{out}")

        # A budget that does not fit: exit 1 with the options.
        code, out, err = plan(binary, prom.url, *common, "--target=main",
                              "--max-connections=43", "--output=json")
        expect("over the limit: exit code", code, 1)
        t = json.loads(out)["targets"][0]
        expect("over the limit: verdict", t["verdict"], "over_limit")
        expect("pgbouncer pool from the busy peaks (35 x 1.25)",
               t["options"]["use_pgbouncer"]["default_pool_size"], 44)

        # Bad input and unreadable sources: exit 2, the URL without its
        # password.
        code, out, err = plan(binary, prom.url, *common, "--target=nope")
        expect("unknown target exit code", code, 2)
        if "--target nope: no declared pools" not in err:
            raise Failure(err)
        code, out, err = plan(binary, prom.url, f"--end={end}", "--window=30s")
        expect("window within the peak window", code, 2)
        closed = harness.free_port()
        code, out, err = plan(binary, f"http://u:secret@127.0.0.1:{closed}",
                              *common)
        expect("unreachable exit code", code, 2)
        if "secret" in err or f"http://u:***@127.0.0.1:{closed}" not in err \
                or "unreachable" not in err:
            raise Failure(f"unreachable: {err}")
        log(f"errors: {err.strip()}")
    log(f"PASS in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Failure as e:
        print(f"[e2e] FAIL: {e}", file=sys.stderr)
        sys.exit(1)
