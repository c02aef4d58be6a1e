#!/usr/bin/python3
"""Records the incidents that the alert replays judge (replay.py).

    record.py AGENT_BINARY [--scenario NAME ...] [--out DIR] [--jobs N]

Each scenario runs real servers (tests/e2e/harness.py): a PostgreSQL with
max_connections 100 and 3 superuser slots (97 usable), the agent polling it
every second with its server log followed, a PgBouncer where the scenario
needs one, and a Prometheus that scrapes the agent twice, as two jobs: every
15 s (a common production setting) and every second. Fleets of pool workers
(tests/e2e/pool_worker.py: one asyncpg pool per process, the guide's
workers × DB_POOL_MAX) make the incident. Then the script reads back from
Prometheus the raw samples of every metric the rules in alerts/*.yml read
(their expressions and their annotations), for each job, and writes

    incidents/<scenario>-15s.yml, incidents/<scenario>-1s.yml
        promtool test files: the recorded series as input_series, one value
        per scrape ("_" where a scrape is missing, "stale" where Prometheus
        marked a series stale), instance and job renamed to stable values
        and *_timestamp_seconds values moved to the fixture's clock;
    incidents/<scenario>.json
        the timeline: when each incident's load started and stopped, on the
        wall clock and in seconds of each fixture, and the setup.

The fixtures are checked in and regenerated on purpose, never by CI: a
recording takes as long as its scenario (up to 23 minutes; the scenarios run
in parallel, --jobs at a time). Regenerate after a change of the agent that
changes what it exports or when, then run replay.py and read what changed.

Every scenario checks that the servers did what it meant (the pools filled
every slot, the spike fell between two 15 s scrapes, clients waited in
PgBouncer...) and fails instead of writing a recording that does not show
its incident.
"""
import argparse
import concurrent.futures
import datetime
import glob
import json
import os
import re
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "alerts"))
import harness  # noqa: E402
from harness import Failure, eventually  # noqa: E402

MAX_CONNECTIONS = 100
RESERVED = 3
USABLE = MAX_CONNECTIONS - RESERVED  # 97, the deployment
POLL_INTERVAL = 1.0
PEAK_WINDOW = 60.0
# (job, scrape interval in seconds, fixture suffix)
JOBS = (("pgconn", 15, "15s"), ("pgconn-fast", 1, "1s"))
APP_ROLE = "app"                # the workers' PostgreSQL role
INSTANCE = "pgconn-agent:9188"  # the fixtures' instance label
JOB = "pgconn"                  # the fixtures' job label
QUIET_BEFORE = 60               # seconds recorded before the first load
LONG_TAIL = 660                 # after incidents with refusals: the old
                                # 10 minutes of PgconnConnectionsRefused
SHORT_TAIL = 180


def log(scenario, msg):
    print(f"[record {scenario}] {msg}", flush=True)


# --------------------------------------------------------------- metrics read
def metrics_read(rule_files):
    """Every metric name an alerting or recording rule reads, in its
    expression or in its annotations' queries, less those recorded by a
    rule; plus Prometheus' `up`."""
    import yaml
    from check_rules import metric_names
    names, recorded = {"up"}, set()
    for path in rule_files:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                if "record" in rule:
                    recorded.add(rule["record"])
                names |= metric_names(rule.get("expr", ""))
                for text in (rule.get("annotations") or {}).values():
                    names |= set(re.findall(r"\b(pgconn_[a-z0-9_]+)\b", text))
    return sorted(names - recorded)


# ----------------------------------------------------------------- the stack
def agent_config(pg, bouncer=None):
    text = (f"poll_interval: {POLL_INTERVAL:.0f}s\nconnect_timeout: 2s\n"
            f"backoff_max: 1s\npeak_window: {PEAK_WINDOW:.0f}s\n"
            "targets:\n  - name: main\n    host: 127.0.0.1\n"
            f"    port: {pg.port}\n    user: postgres\n    dbname: postgres\n"
            f"    server_log:\n      path: {pg.log_path}\n"
            "      log_line_prefix: '%m [%p] '\n")
    if bouncer is not None:
        text += ("  - name: bouncer\n    type: pgbouncer\n"
                 f"    host: 127.0.0.1\n    port: {bouncer.port}\n"
                 "    user: postgres\n")
    return text


def scrape_configs(agent):
    out = "scrape_configs:\n"
    for job, interval, _ in JOBS:
        out += (f"  - job_name: {job}\n    scrape_interval: {interval}s\n"
                f"    scrape_timeout: {min(interval, 10)}s\n"
                "    static_configs:\n"
                f"      - targets: [{json.dumps(agent.address)}]\n")
    return out


class Recording:
    """One scenario's servers and timeline."""

    def __init__(self, name, stack, binary, pgbouncer=None):
        self.name = name
        self.stack = stack
        self.pg = stack.add(harness.Postgres(stack.root, MAX_CONNECTIONS,
                                             RESERVED))
        self.pg.start()
        # The workers' role: an ordinary one, refused once only the
        # superuser-reserved slots are left, as applications are.
        self.pg.sql(f"CREATE ROLE {APP_ROLE} LOGIN")
        self.bouncer = None
        if pgbouncer is not None:
            self.bouncer = stack.add(harness.PgBouncer(stack.root, self.pg,
                                                       pgbouncer))
        self.agent = stack.add(harness.Agent(
            stack.root, binary, agent_config(self.pg, self.bouncer)))
        self.agent.wait_ready()
        self.prom = stack.add(harness.Prometheus(
            stack.root, scrape_configs=scrape_configs(self.agent)))
        self.prom.wait_ready()
        for job, interval, _ in JOBS:
            eventually(f"job {job} scraped",
                       lambda: self.prom.value(
                           f'pgconn_up{{job="{job}",target="main"}}') == 1,
                       timeout=3 * interval + 30)
        self.began = time.time()
        self.incidents = []
        self.notes = []

    def incident(self, name, start, stop, released=None, target="main",
                 events=None, **extra):
        """An incident's load on `target` from `start` to `stop` (wall
        clock: when the workers begin and end the phase that makes it);
        `released`, when what it held was given back (the workers' pools
        closed, their processes exited); `events` names other moments of it
        that the expectations can refer to."""
        released = stop if released is None else released
        self.incidents.append(dict(name=name, target=target, start=start,
                                   stop=stop, released=released,
                                   events=events or {}, **extra))
        log(self.name, f"incident {name}: {stop - start:.1f} s of load, "
            f"released {released - stop:.1f} s later")

    def sleep_until(self, t):
        while time.time() < t:
            time.sleep(min(1.0, t - time.time()))

    def run_fleet(self, fleet):
        """Waits for the workers to exit; the wall time they had all exited
        and their reports."""
        reports = fleet.wait(timeout=3600)
        return time.time(), reports

    def check(self, what, expr, job="pgconn-fast"):
        """Fails unless the PromQL expression (with $JOB) returns a sample
        over the recording so far."""
        q = expr.replace("$JOB", job)
        if self.prom.value(q) is None:
            raise Failure(f"{self.name}: the recording does not show {what}: "
                          f"{q} is empty")
        log(self.name, f"checked: {what}")

    def scrape_times(self, job):
        r = self.prom.query(f'up{{job="{job}"}}[10m]')
        return [float(t) for t, _ in r["data"]["result"][0]["values"]]


# ----------------------------------------------------------------- scenarios
def fleet(rec, app, replicas, pool_min, pool_max, plan, start_at=None,
          server=None, env=None):
    """Workers of `app` on PostgreSQL as APP_ROLE, or through `server`
    (PgBouncer, whose only user is postgres)."""
    return rec.stack.add(harness.Workers(
        server or rec.pg, app, replicas, pool_min, pool_max, plan,
        start_at=start_at, env=env,
        user="postgres" if server else APP_ROLE))


def phases_at(start_at, plan):
    """The wall-clock start of each phase of a lockstep plan, and its end."""
    out, t = [], start_at
    for phase in plan:
        out.append(t)
        t += phase["seconds"]
    return out + [t]


def scenario_exhaustion(rec, short=False):
    """The issue's deployment: 10 workers × DB_POOL_MAX 10 against 97 usable
    slots. Quiet pools (2 busy tasks each), then every task wants a
    connection: the pools grow to 96 connections and the rest are refused,
    for 90 s (20 s in short-exhaustion). The workers stop (their pools
    close). In `exhaustion`, 20 s later a second fleet of 5 workers ×
    DB_POOL_MAX 17 holds 85 connections (86/97 with the agent) for 2
    minutes: the issue's later near-limit episode."""
    seconds = 20 if short else 90
    plan = [{"seconds": 60, "busy": 2, "hold": 0.5},
            {"seconds": seconds, "busy": 10, "hold": 0.5}]
    start_at = time.time() + 5
    workers = fleet(rec, "worker", 10, 2, 10, plan, start_at)
    exited, reports = rec.run_fleet(workers)
    _, load, stop = phases_at(start_at, plan)
    refused = sum(sum(r.get("errors", {}).values()) for r in reports)
    rec.incident("exhaustion", load, stop, exited, worker_errors=refused)
    rec.check("every usable slot taken",
              'min_over_time(pgconn_available_connections{job="$JOB"}[30m]) == 0')
    rec.check("refusals counted in the server log",
              'max_over_time(pgconn_connections_refused_total{job="$JOB",'
              'reason=~"reserved_slots|max_connections"}[30m]) > 0')
    if short:
        return
    plan2 = [{"seconds": 120, "busy": 17, "hold": 0.5}]
    start2 = exited + 20
    near = fleet(rec, "report", 5, 1, 17, plan2, start2)
    exited2, _ = rec.run_fleet(near)
    rec.incident("near-limit", start2, phases_at(start2, plan2)[-1], exited2)
    rec.check("about 86 of 97 slots used in the near-limit episode",
              f'max_over_time(pgconn_used_connections{{job="$JOB"}}'
              f'[{int(time.time() - start2)}s]) >= 85')


def scenario_spike(rec):
    """A burst that fills every slot for about 4 s, placed between two 15 s
    scrapes: 10 workers (DB_POOL_MIN 0, DB_POOL_MAX 10) each run 10 queries
    of 3 s at once, then exit."""
    plan = [{"seconds": 4, "burst": 10, "hold": 3}]
    # The 15 s job's next scrape: start 4 s after it, so that the spike is
    # over (and polled once more) before the following one.
    last = rec.scrape_times("pgconn")[-1]
    start_at = last + 15
    while start_at - time.time() < 3:
        start_at += 15
    start_at += 4
    workers = fleet(rec, "burst", 10, 0, 10, plan, start_at)
    exited, reports = rec.run_fleet(workers)
    refused = sum(sum(r.get("errors", {}).values()) for r in reports)
    rec.incident("spike", start_at, phases_at(start_at, plan)[-1], exited,
                 worker_errors=refused)
    rec.sleep_until(exited + 20)
    rec.check("the spike in the peak gauge",
              'max_over_time(pgconn_used_connections_peak{job="$JOB"}[5m]) >= 97',
              job="pgconn")
    span = int(time.time() - start_at) + 30
    if rec.prom.value(f'max_over_time(pgconn_used_connections{{job="pgconn"}}[{span}s]) >= 50') is not None:
        raise Failure("spike: a 15 s scrape saw the spike; it must fall "
                      "between two")
    rec.check("the spike in the 1 s scrapes",
              'min_over_time(pgconn_available_connections{job="$JOB"}[5m]) == 0')


def scenario_slow_growth(rec):
    """Two fleets of 5 workers × DB_POOL_MAX 8, the second 30 s behind the
    first, add one busy task per worker every minute: 5 connections every
    30 s, from 10 to 80 (81/97 = 83.5 % with the agent, past the 80 %
    threshold, below 90 %) in 8 minutes. They hold it for 11 minutes, then
    stop."""
    steps = [{"seconds": 60, "busy": k, "hold": 0.5} for k in range(1, 8)]
    start_a = time.time() + 5
    plan_a = steps + [{"seconds": 60 + 660, "busy": 8, "hold": 0.5}]
    plan_b = steps + [{"seconds": 30 + 660, "busy": 8, "hold": 0.5}]
    a = fleet(rec, "worker-a", 5, 1, 8, plan_a, start_a)
    b = fleet(rec, "worker-b", 5, 1, 8, plan_b, start_a + 30)
    exited_a, _ = rec.run_fleet(a)
    exited_b, _ = rec.run_fleet(b)
    *_, crossed, stop = phases_at(start_a + 30, plan_b)
    rec.incident("growth", start_a, stop, max(exited_a, exited_b),
                 events={"threshold_crossed": crossed})
    rec.check("past 80 % and below 90 % of 97 slots at the top",
              '(max_over_time(pgconn_used_connections{job="$JOB"}[30m])'
              ' >= 78) < 87')


def scenario_pgbouncer(rec):
    """4 workers × DB_POOL_MAX 10 connect through PgBouncer (transaction
    mode, default_pool_size 4, max_client_conn 48, query_wait_timeout 40 s)
    and every task runs 3 s queries: 40 clients share 4 server connections
    and wait up to about 25 s each, for 12 minutes."""
    # A quiet minute first: the pools open their DB_POOL_MIN connections
    # and run nothing (a busy task per worker would already keep the 4
    # server connections busy).
    plan = [{"seconds": 60},
            {"seconds": 720, "busy": 10, "hold": 3}]
    start_at = time.time() + 5
    workers = fleet(rec, "worker", 4, 2, 10, plan, start_at,
                    server=rec.bouncer)
    exited, reports = rec.run_fleet(workers)
    _, load, stop = phases_at(start_at, plan)
    errors = sum(sum(r.get("errors", {}).values()) for r in reports)
    rec.incident("overload", load, stop, exited, target="bouncer",
                 worker_errors=errors)
    rec.check("clients waiting in PgBouncer",
              'max_over_time(pgconn_pgbouncer_clients{job="$JOB",state="waiting"}[30m]) >= 30')
    rec.check("waits past half of query_wait_timeout",
              'max_over_time(pgconn_pgbouncer_max_wait_seconds{job="$JOB"}[30m]) >= 22')
    rec.check("the client connections past 80 % of max_client_conn",
              'max_over_time(pgconn_pgbouncer_client_utilization_ratio{job="$JOB"}[30m]) >= 0.8')


def scenario_restart(rec):
    """4 workers × DB_POOL_MAX 10 with 3 busy tasks each run for 4 minutes;
    PostgreSQL restarts 60 s in (20 s down, `pg_ctl stop -m fast`), and the
    agent restarts 90 s later (its counters start again from 0)."""
    plan = [{"seconds": 240, "busy": 3, "hold": 0.5}]
    start_at = time.time() + 5
    workers = fleet(rec, "worker", 4, 2, 10, plan, start_at)
    rec.sleep_until(start_at + 60)
    t_stop = time.time()
    rec.pg.stop()
    rec.sleep_until(t_stop + 20)
    rec.pg.start()
    rec.incident("postgres-restart", t_stop, time.time())
    rec.sleep_until(start_at + 150)
    t_stop = time.time()
    rec.agent.restart()
    rec.agent.wait_ready()
    rec.incident("agent-restart", t_stop, time.time())
    rec.run_fleet(workers)
    rec.check("the target seen down", 'min_over_time(pgconn_up{job="$JOB"}[30m]) == 0')


SCENARIOS = {
    "exhaustion": (scenario_exhaustion, None, LONG_TAIL),
    "short-exhaustion": (lambda rec: scenario_exhaustion(rec, short=True),
                         None, LONG_TAIL),
    "spike": (scenario_spike, None, LONG_TAIL),
    "slow-growth": (scenario_slow_growth, None, SHORT_TAIL),
    "pgbouncer-overload": (scenario_pgbouncer, {
        "pool_mode": "transaction", "default_pool_size": 4,
        "max_db_connections": 10, "max_client_conn": 48,
        "query_wait_timeout": 40}, LONG_TAIL // 2),
    "restart": (scenario_restart, None, SHORT_TAIL),
}


# -------------------------------------------------------------------- export
def raw_series(prom, selector, at, seconds):
    r = prom.query(f"{selector}[{int(seconds)}s]", time=f"{at:.3f}")
    if r.get("status") != "success":
        raise Failure(f"export of {selector}: {r.get('error')}")
    return r["data"]["result"]


def format_value(v):
    if v in ("NaN", "+Inf", "-Inf"):
        return v
    f = float(v)
    return str(int(f)) if f == int(f) and abs(f) < 1e15 else repr(f)


def compress(values):
    """promtool's expanding notation: runs of one value as 'v+0xN', runs of
    missing samples as '_xN'."""
    out, i = [], 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        n = j - i + 1
        v = values[i]
        if v in ("stale", "NaN", "+Inf", "-Inf"):
            out.extend([v] * n)
        elif v == "_":
            out.append("_" if n == 1 else f"_x{n}")
        elif n == 1:
            out.append(v)
        else:
            out.append(f"{v}+0x{n - 1}")
        i = j + 1
    return " ".join(out)


def label_text(labels):
    name = labels.pop("__name__")
    inner = ",".join(f'{k}={json.dumps(v)}' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def export(rec, metrics, job, step, until):
    """The job's raw samples from the recording's start on a grid of its
    scrapes: (t0 wall time, number of samples, [(series text, values)])."""
    seconds = until - rec.began + 2 * step
    up = raw_series(rec.prom, f'up{{job="{job}"}}', until, seconds)
    if len(up) != 1:
        raise Failure(f"{job}: expected one up series, got {len(up)}")
    scrapes = [float(t) for t, _ in up[0]["values"] if float(t) >= rec.began]
    t0 = scrapes[0]
    n = int(round((scrapes[-1] - t0) / step)) + 1
    scraped = [False] * n
    for t in scrapes:
        scraped[int(round((t - t0) / step))] = True
    out = []
    for metric in metrics:
        for s in raw_series(rec.prom, f'{{__name__="{metric}",job="{job}"}}',
                            until, seconds):
            labels = dict(s["metric"], instance=INSTANCE, job=JOB)
            by_index = {}
            for t, v in s["values"]:
                k = int(round((float(t) - t0) / step))
                if 0 <= k < n:
                    if metric.endswith("_timestamp_seconds"):
                        v = f"{float(v) - t0:.3f}"
                    by_index[k] = format_value(v)
            values, present = [], False
            for k in range(n):
                if k in by_index:
                    values.append(by_index[k])
                    present = True
                elif present and scraped[k]:
                    # Prometheus marks a series stale at the first scrape
                    # that lacks it (or that failed).
                    values.append("stale")
                    present = False
                else:
                    values.append("_")
            out.append((label_text(labels), values))
    out.sort()
    return t0, n, out


def write_fixture(path, scenario, doc, suffix, step, t0, n, series, timeline):
    lines = [
        f"# Incident replay fixture: scenario {scenario!r}, the agent scraped",
        f"# every {step} s. Recorded by tests/alerts/replay/record.py on",
        f"# {timeline['recorded']}; regenerate with that script, never by hand.",
        "#",
    ]
    for para in doc.strip().splitlines():
        lines.append(("# " + para.strip()).rstrip())
    lines.append("#")
    lines.append("# Timeline (seconds of this fixture; sample k is at k × "
                 f"{step} s):")
    for inc in timeline["incidents"]:
        lines.append(f"#   {inc['name']} on target {inc['target']}: load "
                     f"{inc['start'] - t0:.1f} s to {inc['stop'] - t0:.1f} s, "
                     f"released at {inc['released'] - t0:.1f} s")
    lines.append(f"#   end of the recording: {(n - 1) * step} s")
    lines.append("#")
    lines.append("# replay.py evaluates alerts/*.yml on these series at every "
                 "sample; `promtool test")
    lines.append("# rules` on this file alone checks nothing.")
    lines.append("")
    lines.append("rule_files:")
    lines.append("  - ../../../../alerts/*.yml")
    lines.append(f"evaluation_interval: {step}s")
    lines.append("tests:")
    lines.append(f"  - name: {scenario}-{suffix}")
    lines.append(f"    interval: {step}s")
    lines.append("    input_series:")
    for text, values in series:
        lines.append(f"      - series: {json.dumps(text)}")
        lines.append(f"        values: {json.dumps(compress(values))}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def record(name, binary, out_dir, metrics, tail=None):
    func, pgbouncer, default_tail = SCENARIOS[name]
    tail = default_tail if tail is None else tail
    with harness.Stack(f"pgconn-record-{name}-") as stack:
        rec = Recording(name, stack, binary, pgbouncer)
        log(name, f"servers up; {QUIET_BEFORE} s quiet")
        rec.sleep_until(rec.began + QUIET_BEFORE)
        func(rec)
        end = max(i["released"] for i in rec.incidents) + tail
        log(name, f"load over; {tail} s tail")
        rec.sleep_until(end)
        timeline = {
            "scenario": name,
            "description": " ".join(func.__doc__.split()) if func.__doc__
            else " ".join(scenario_exhaustion.__doc__.split()),
            "recorded": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%d %H:%M UTC"),
            "setup": {"max_connections": MAX_CONNECTIONS,
                      "superuser_reserved_connections": RESERVED,
                      "usable": USABLE, "poll_interval": POLL_INTERVAL,
                      "peak_window": PEAK_WINDOW, "pgbouncer": pgbouncer
                      or None},
            "incidents": rec.incidents,
            "fixtures": {},
        }
        for job, step, suffix in JOBS:
            t0, n, series = export(rec, metrics, job, step, end)
            fname = f"{name}-{suffix}.yml"
            write_fixture(os.path.join(out_dir, fname), name,
                          timeline["description"], suffix, step, t0, n,
                          series, timeline)
            timeline["fixtures"][suffix] = {
                "file": fname, "t0": t0, "step": step, "samples": n,
                "series": len(series)}
            log(name, f"wrote {fname}: {len(series)} series × {n} samples")
        with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
            json.dump(timeline, f, indent=1, sort_keys=True)
            f.write("\n")
    return name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agent", help="the pgconn-agent binary")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                        help="record only this one (repeatable)")
    parser.add_argument("--out", default=os.path.join(HERE, "incidents"))
    parser.add_argument("--jobs", type=int, default=len(SCENARIOS),
                        help="scenarios recorded at once")
    parser.add_argument("--tail", type=float,
                        help="seconds recorded after the load (default: the "
                        "scenario's; shorter only to try the script out)")
    args = parser.parse_args()
    harness.require(harness.PROMETHEUS, harness.PSQL, harness.PGBOUNCER,
                    args.agent)
    os.makedirs(args.out, exist_ok=True)
    metrics = metrics_read(sorted(glob.glob(os.path.join(ROOT, "alerts", "*.yml"))))
    names = args.scenario or sorted(SCENARIOS)
    failed = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(record, n, os.path.abspath(args.agent),
                               args.out, metrics, args.tail): n
                   for n in names}
        for fut in concurrent.futures.as_completed(futures):
            try:
                fut.result()
            except Exception as e:  # report every scenario, then fail
                traceback.print_exc()
                failed.append(f"{futures[fut]}: {e}")
    if failed:
        print("record: FAILED\n  " + "\n  ".join(failed), file=sys.stderr)
        return 1
    print(f"record: wrote {len(names)} scenarios to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
