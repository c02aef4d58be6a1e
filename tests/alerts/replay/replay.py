#!/usr/bin/python3
"""Judges pgconn's alerting rules on recorded incidents.

    replay.py [--rules GLOB] [--incidents DIR] [--scenario NAME ...]
              [--table] [--markdown FILE]

For every recorded incident (incidents/<scenario>.json and its fixtures,
written by record.py), promtool evaluates the rules (default alerts/*.yml,
every file there, whatever it holds) on the recorded series at every
sample, and this script reads which alert fired when: promtool runs the
fixture with one PromQL test per sample on
`count by (alertname, severity, target, alertstate) (ALERTS)` that expects
nothing, and every evaluation where an alert is pending or firing comes back
as a failure listing them.

Then it checks, for every fixture:
  1. no page after recovery: no warning or critical alert starts firing once
     the scrapes show the incident's load stopped (the first sample polled
     after the stop, by pgconn_last_poll_success_timestamp_seconds). An
     incident that no scrape saw while it lasted (a spike between two
     scrapes) may start alerts at that first sample, not later;
  2. every alert that fires during an incident resolves within the time
     docs/alerts.md states for it ("Resolves after"), counted from the
     moment the load released what it held (the workers' pools closed);
  3. nor does an alert that the Alertmanager example
     (alerts/alertmanager/alertmanager.example.yml) muted come back unmuted
     after that stop: what mutes it outlives it;
  4. expectations.yml: the alerts that must fire in that scenario, in which
     window and how often, and when they must have resolved; every alert it
     does not list must stay silent.

--table prints every alert episode; --markdown writes a table of the fire
and resolve times per alert and fixture. Exits 1 when a check fails.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
# The labels an alert is told apart by here: its identity for the checks,
# and the labels the Alertmanager example's inhibit rules compare.
KEY_LABELS = ("alertname", "severity", "target", "database", "user",
              "application")
PROBE = f"count by ({', '.join(KEY_LABELS)}, alertstate) (ALERTS)"
PAGING = ("warning", "critical")
DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400,
                  "w": 604800, "y": 31536000}


class ReplayError(Exception):
    pass


# ------------------------------------------------------------------ helpers
def parse_duration(text):
    """Prometheus' duration notation (1h2m3s, 500ms) in seconds."""
    total, pos = 0.0, 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", text):
        if m.start() != pos:
            raise ReplayError(f"bad duration {text!r}")
        total += float(m.group(1)) * DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ReplayError(f"bad duration {text!r}")
    return total


def expand(values):
    """promtool's expanding notation to a list of floats, None for a missing
    sample and "stale" for a staleness marker."""
    out = []
    for tok in values.split():
        m = re.fullmatch(r"_x(\d+)", tok)
        if m:
            out.extend([None] * int(m.group(1)))
            continue
        if tok == "_":
            out.append(None)
            continue
        if tok == "stale":
            out.append("stale")
            continue
        m = re.fullmatch(r"([-+]?[^-+x]+(?:e[-+]?\d+)?)([-+])([^x]+)x(\d+)",
                         tok)
        if m:
            a, b = float(m.group(1)), float(m.group(3))
            if m.group(2) == "-":
                b = -b
            out.extend(a + i * b for i in range(int(m.group(4)) + 1))
            continue
        out.append(float(tok))
    return out


def parse_selector(text):
    m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}", text)
    if not m:
        raise ReplayError(f"bad series {text!r}")
    return m.group(1), dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"',
                                       m.group(2)))


def latest(samples, k):
    """The value Prometheus' lookback sees at sample k (None after a
    staleness marker or before the first sample)."""
    for i in range(k, -1, -1):
        v = samples[i]
        if v == "stale":
            return None
        if v is not None:
            return v
    return None


# ------------------------------------------------------------ documentation
def documented_bounds(path):
    """{(alertname, severity): (fires after, resolves after)} as the text of
    docs/alerts.md's table cells."""
    bounds = {}
    header = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("|"):
                header = None
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = [c.lower() for c in cells]
                continue
            if set(cells[0]) <= {"-", " ", ":"}:
                continue
            row = dict(zip(header, cells))
            if "fires after" in row and "resolves after" in row:
                bounds[(row["alert"], row["severity"])] = (
                    row["fires after"], row["resolves after"])
    return bounds


def bound_seconds(text, cycle, peak_window):
    """The longest of the ';'-separated alternatives of a "Resolves after"
    cell, each a sum of durations (2m), cycles (1 cycle) and peak_window."""
    best = None
    for alt in text.split(";"):
        alt = alt.replace("`", "")
        total, found = 0.0, False
        for m in re.finditer(r"\b(\d+(?:\.\d+)?)(ms|s|m|h)\b", alt):
            total += float(m.group(1)) * DURATION_UNITS[m.group(2)]
            found = True
        for m in re.finditer(r"(?:\b(\d+)\s*)?\bcycles?\b", alt):
            total += int(m.group(1) or 1) * cycle
            found = True
        if "peak_window" in alt:
            total += peak_window
            found = True
        if found:
            best = total if best is None else max(best, total)
    return best


# ---------------------------------------------------------------- evaluation
def load_fixture(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    test = doc["tests"][0]
    return doc, test


def probe_alerts(promtool, rule_files, fixture_path, step, samples, workdir):
    """{KEY_LABELS values: [state at each sample]} with state "firing",
    "pending" or None."""
    doc, test = load_fixture(fixture_path)
    probe = {
        "rule_files": rule_files,
        "evaluation_interval": f"{step}s",
        "tests": [{
            "name": test["name"],
            "interval": test["interval"],
            "input_series": test["input_series"],
            "promql_expr_test": [
                {"expr": PROBE, "eval_time": f"{k * step}s", "exp_samples": []}
                for k in range(samples)],
        }],
    }
    path = os.path.join(workdir, os.path.basename(fixture_path))
    with open(path, "w") as f:
        yaml.safe_dump(probe, f, sort_keys=False)
    run = subprocess.run([promtool, "test", "rules", path],
                         capture_output=True, text=True)
    out = run.stdout + run.stderr
    states = {}
    times = re.findall(r'expr: "[^"]*ALERTS\)", time: (\S+),\n\s+exp: .*\n'
                       r'\s+got: (.*)', out)
    if run.returncode != 0 and not times:
        raise ReplayError(f"promtool failed on {fixture_path}:\n{out[-3000:]}")
    unexplained = out.count("expr: ") - len(times)
    if unexplained:
        raise ReplayError(f"promtool printed {unexplained} failure(s) this "
                          f"script cannot read:\n{out[-3000:]}")
    for when, got in times:
        k = int(round(parse_duration(when) / step))
        for labels in re.findall(r"\{([^}]*)\}", got):
            lab = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels))
            key = tuple(lab.get(name, "") for name in KEY_LABELS)
            states.setdefault(key, [None] * samples)
            if states[key][k] != "firing":
                states[key][k] = lab.get("alertstate")
    return states


def episodes(states, step):
    """[(start seconds, end seconds or None)] of the firing state; end is
    the first sample at which it no longer fires."""
    out, start = [], None
    for k, s in enumerate(states):
        if s == "firing" and start is None:
            start = k
        elif s != "firing" and start is not None:
            out.append((start * step, k * step))
            start = None
    if start is not None:
        out.append((start * step, None))
    return out


# ------------------------------------------------------------ expectations
def time_expr(text, events, cycle, peak_window):
    """'exhaustion.stop + 1m + 2 cycles' in fixture seconds."""
    total = 0.0
    parts = re.split(r"\s+([-+])\s+", text.strip())
    for sign, term in [("+", parts[0])] + list(zip(parts[1::2], parts[2::2])):
        term = term.strip()
        m = re.fullmatch(r"([\w-]+)\.(\w+)", term)
        if m:
            inc = events.get(m.group(1))
            if inc is None:
                raise ReplayError(f"unknown incident {m.group(1)!r} in {text!r}")
            moments = dict(inc["moments"], start=inc["start"], stop=inc["stop"],
                           released=inc["released"],
                           visible_stop=inc["visible_stop"])
            if m.group(2) not in moments:
                raise ReplayError(f"incident {m.group(1)} has no moment "
                                  f"{m.group(2)!r} ({text!r})")
            value = moments[m.group(2)]
        elif re.fullmatch(r"(\d+\s*)?cycles?", term):
            value = int(term.split()[0]) * cycle if term[0].isdigit() else cycle
        elif term == "peak_window":
            value = peak_window
        else:
            value = parse_duration(term)
        total += -value if sign == "-" else value
    return total


def fmt(t):
    return "never" if t is None else f"{t:.0f}s"


def judge(name, suffix, info, timeline, fixture_path, states, bounds,
          expectations, inhibitions):
    """The list of problems, and the episodes for the tables."""
    problems = []
    step = info["step"]
    t0 = info["t0"]
    n = info["samples"]
    end = (n - 1) * step
    setup = timeline["setup"]
    cycle = setup["poll_interval"] + 2 * step
    peak_window = setup["peak_window"]
    where = f"{name}-{suffix}"

    _, test = load_fixture(fixture_path)
    series = {}
    for s in test["input_series"]:
        metric, labels = parse_selector(s["series"])
        series.setdefault(metric, []).append((labels, expand(s["values"])))

    def target_series(metric, target):
        for labels, values in series.get(metric, []):
            if labels.get("target") == target:
                return values
        return [None] * n

    incidents = []
    for inc in timeline["incidents"]:
        start, stop = inc["start"] - t0, inc["stop"] - t0
        released = inc.get("released", inc["stop"]) - t0
        polled = target_series("pgconn_last_poll_success_timestamp_seconds",
                               inc["target"])
        up = target_series("pgconn_up", inc["target"])
        scrape_up = series.get("up", [({}, [None] * n)])[0][1]
        visible, visible_stop = False, None
        for k in range(n):
            t = k * step
            p = latest(polled, k)
            if p is not None and start <= p <= stop and polled[k] is not None:
                visible = True
            if start <= t <= stop and (up[k] == 0 or scrape_up[k] == 0):
                visible = True
            if visible_stop is None and p is not None and p > stop \
                    and polled[k] is not None:
                visible_stop = t
        if visible_stop is None:
            problems.append(f"{where}: the recording ends before a poll after "
                            f"incident {inc['name']} stopped")
            visible_stop = end
        moments = {k: v - t0 for k, v in inc.get("events", {}).items()}
        incidents.append(dict(inc, start=start, stop=stop, released=released,
                              visible=visible, visible_stop=visible_stop,
                              moments=moments))
    events = {i["name"]: i for i in incidents}

    runs = {key: episodes(st, step) for key, st in states.items()}
    runs = {k: v for k, v in runs.items() if v}

    # 1. No page after recovery.
    for (alert, sev, target, *_), eps in sorted(runs.items()):
        if sev not in PAGING:
            continue
        for i, inc in enumerate(incidents):
            until = incidents[i + 1]["start"] if i + 1 < len(incidents) else end + 1
            for start, _ in eps:
                late = (start >= inc["visible_stop"] if inc["visible"]
                        else start > inc["visible_stop"])
                if late and start < until:
                    problems.append(
                        f"{where}: {alert} ({sev}, target {target}) starts "
                        f"firing at {fmt(start)}, after the scrapes showed "
                        f"incident {inc['name']} over at "
                        f"{fmt(inc['visible_stop'])} (load stopped at "
                        f"{fmt(inc['stop'])})")

    # 2. Resolves within the documented time, counted from the moment the
    # load gave back what it held (the workers' pools closed).
    for (alert, sev, target, *_), eps in sorted(runs.items()):
        for inc in incidents:
            for start, stop in eps:
                if start > inc["visible_stop"] or (stop is not None and
                                                   stop <= inc["released"]):
                    continue
                doc = bounds.get((alert, sev))
                if doc is None:
                    problems.append(f"docs/alerts.md: no \"Resolves after\" "
                                    f"for {alert} ({sev})")
                    continue
                limit = bound_seconds(doc[1], cycle, peak_window)
                if limit is None:
                    problems.append(f"docs/alerts.md: cannot read the "
                                    f"\"Resolves after\" of {alert} ({sev}): "
                                    f"{doc[1]!r}")
                    continue
                deadline = inc["released"] + limit
                if stop is None and end < deadline:
                    problems.append(f"{where}: the recording ends before "
                                    f"{alert} ({sev}) must have resolved")
                elif stop is None or stop > deadline:
                    problems.append(
                        f"{where}: {alert} ({sev}, target {target}) resolves "
                        f"{fmt(None if stop is None else stop - inc['released'])} "
                        f"after incident {inc['name']} released its "
                        "connections; docs/alerts.md "
                        f"says {doc[1]!r} = {limit:.0f}s here")

    # 3. Nor does an alert that Alertmanager muted come back on its own
    # once the incident is over (its inhibitor resolved first).
    for key, k in unmuted_again(states, inhibitions):
        alert, sev, target = key[:3]
        if sev not in PAGING:
            continue
        for i, inc in enumerate(incidents):
            until = incidents[i + 1]["start"] if i + 1 < len(incidents) else end + 1
            t = k * step
            late = (t >= inc["visible_stop"] if inc["visible"]
                    else t > inc["visible_stop"])
            if late and t < until:
                problems.append(
                    f"{where}: {alert} ({sev}, target {target}) was muted by "
                    "the Alertmanager example's inhibit rules and fires "
                    f"unmuted from {fmt(t)}, after the scrapes showed "
                    f"incident {inc['name']} over at {fmt(inc['visible_stop'])}:"
                    " Alertmanager would page it after recovery")

    # 4. The scenario's expectations.
    spec = expectations.get(name)
    if spec is None:
        problems.append(f"expectations.yml: no entry for scenario {name}")
        spec = {}
    expected = {}
    for e in spec.get("expect", []) or []:
        variants = e.get("only")
        if variants and suffix not in variants:
            continue
        expected.setdefault((e["alert"], e.get("severity", "")), []).append(e)
    for (alert, sev, target, *_), eps in sorted(runs.items()):
        if (alert, sev) not in expected:
            problems.append(
                f"{where}: {alert} ({sev}, target {target}) fires at "
                + ", ".join(f"{fmt(a)}-{fmt(b)}" for a, b in eps)
                + " but expectations.yml does not expect it")
    for (alert, sev), es in sorted(expected.items()):
        eps = [ep for (a, s, *_), e in runs.items() if (a, s) == (alert, sev)
               for ep in e]
        eps.sort()
        want = sum(int(e.get("episodes", 1)) for e in es)
        if len(eps) != want:
            problems.append(
                f"{where}: {alert} ({sev}) fires {len(eps)} time(s) ("
                + ", ".join(f"{fmt(a)}-{fmt(b)}" for a, b in eps)
                + f"), expected {want}")
            continue
        for e, (start, stop) in zip(es, eps):
            lo, hi = (time_expr(x, events, cycle, peak_window)
                      for x in e["fires"])
            if not lo <= start <= hi:
                problems.append(
                    f"{where}: {alert} ({sev}) starts firing at {fmt(start)}, "
                    f"expected between {e['fires'][0]} ({lo:.0f}s) and "
                    f"{e['fires'][1]} ({hi:.0f}s)")
            by = time_expr(e["resolved_by"], events, cycle, peak_window)
            if stop is None or stop > by:
                problems.append(
                    f"{where}: {alert} ({sev}) resolves at {fmt(stop)}, "
                    f"expected by {e['resolved_by']} ({by:.0f}s)")
    return problems, runs, incidents


# ---------------------------------------------------------------- inhibition
def matcher(text):
    """An Alertmanager matcher ('alertname =~ "A|B"') as a predicate on a
    label dict."""
    m = re.fullmatch(r'\s*(\w+)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*', text)
    if not m:
        raise ReplayError(f"cannot read the matcher {text!r}")
    name, op, value = m.groups()
    if op in ("=~", "!~"):
        rx = re.compile(f"(?:{value})")
        return lambda labels: bool(rx.fullmatch(labels.get(name, ""))) == (op == "=~")
    return lambda labels: (labels.get(name, "") == value) == (op == "=")


def inhibit_rules(path):
    """[(source predicate, target predicate, equal labels)] of an
    Alertmanager configuration."""
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    rules = []
    for r in config.get("inhibit_rules", []) or []:
        src = [matcher(m) for m in r.get("source_matchers", [])]
        dst = [matcher(m) for m in r.get("target_matchers", [])]
        rules.append((lambda l, ms=src: all(m(l) for m in ms),
                      lambda l, ms=dst: all(m(l) for m in ms),
                      tuple(r.get("equal", []))))
    return rules


def unmuted_again(states, rules):
    """[(key, sample)]: where an alert that Alertmanager muted (a source of
    an inhibit rule fired with the same `equal` labels) fires on, unmuted,
    before it resolves: from there Alertmanager sends it on its own."""
    out = []
    labelled = [(key, dict(zip(KEY_LABELS, key)), st)
                for key, st in states.items()]
    for key, labels, st in labelled:
        muted_once = False
        for k, s in enumerate(st):
            if s != "firing":
                muted_once = False
                continue
            muted = any(
                dst(labels) and src(other) and okey != key
                and all(other.get(e, "") == labels.get(e, "") for e in equal)
                and ost[k] == "firing"
                for src, dst, equal in rules
                for okey, other, ost in labelled)
            if muted:
                muted_once = True
            elif muted_once:
                out.append((key, k))
                muted_once = False
    return out


# -------------------------------------------------------------------- tables
def relative(ep, incidents):
    """An episode as (incident name, seconds after its load started, seconds
    after its load stopped): the last incident that started before it."""
    start, stop = ep
    owner = incidents[0]
    for inc in incidents:
        if inc["start"] <= start:
            owner = inc
    return (owner["name"], start - owner["start"],
            None if stop is None else stop - owner["stop"])


def describe(eps, incidents):
    parts = []
    for ep in eps:
        name, fire, resolve = relative(ep, incidents)
        r = "still firing at the end" if resolve is None else f"{resolve:+.0f}s"
        parts.append(f"{fire:+.0f}s / {r}")
    return "; ".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default=os.path.join(ROOT, "alerts", "*.yml"),
                        help="glob of the rule files (default alerts/*.yml)")
    parser.add_argument("--incidents", default=os.path.join(HERE, "incidents"))
    parser.add_argument("--expectations",
                        default=os.path.join(HERE, "expectations.yml"))
    parser.add_argument("--docs", default=os.path.join(ROOT, "docs", "alerts.md"))
    parser.add_argument("--alertmanager", default=os.path.join(
        ROOT, "alerts", "alertmanager", "alertmanager.example.yml"))
    parser.add_argument("--scenario", action="append")
    parser.add_argument("--table", action="store_true",
                        help="print every alert episode")
    parser.add_argument("--markdown", help="write the fire/resolve table here")
    parser.add_argument("--json", help="write every alert episode here: "
                        "fixture, alert, severity, target, incident, seconds "
                        "after its load started and after it stopped")
    args = parser.parse_args()

    promtool = os.environ.get("PROMTOOL", "promtool")
    rule_files = sorted(os.path.abspath(p) for p in glob.glob(args.rules))
    if not rule_files:
        raise ReplayError(f"no rule files match {args.rules}")
    timelines = sorted(glob.glob(os.path.join(args.incidents, "*.json")))
    if args.scenario:
        timelines = [t for t in timelines
                     if os.path.basename(t)[:-5] in args.scenario]
    if not timelines:
        raise ReplayError(f"no recorded incidents in {args.incidents}")
    bounds = documented_bounds(args.docs)
    inhibitions = inhibit_rules(args.alertmanager)
    with open(args.expectations, encoding="utf-8") as f:
        expectations = yaml.safe_load(f) or {}

    # Every metric the rules read must be in the recordings, or the replays
    # would judge those rules on nothing.
    sys.path.insert(0, HERE)
    from record import metrics_read
    needed = set(metrics_read(rule_files))

    not_recorded = expectations.get("_not_recorded", {}) or {}
    recorded = set()
    problems, rows, columns, episodes_out = [], {}, [], []
    fixtures = []  # (scenario, suffix, info, timeline, path)
    for path in timelines:
        with open(path, encoding="utf-8") as f:
            timeline = json.load(f)
        for suffix, info in sorted(timeline["fixtures"].items(),
                                   key=lambda kv: -kv[1]["step"]):
            fixtures.append((timeline["scenario"], suffix, info, timeline,
                             os.path.join(os.path.dirname(path), info["file"])))
    with tempfile.TemporaryDirectory(prefix="pgconn-replay-") as work, \
            concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        # One promtool per fixture, as many at once as there are cores.
        probes = [pool.submit(probe_alerts, promtool, rule_files, fixture,
                              info["step"], info["samples"], work)
                  for _, _, info, _, fixture in fixtures]
        for (name, suffix, info, timeline, fixture), probe in zip(fixtures,
                                                                   probes):
            _, test = load_fixture(fixture)
            recorded |= {parse_selector(s["series"])[0]
                         for s in test["input_series"]}
            states = probe.result()
            found, runs, incidents = judge(
                name, suffix, info, timeline, fixture, states, bounds,
                expectations, inhibitions)
            problems += found
            column = f"{name} ({suffix})"
            columns.append(column)
            print(f"replay {column}: {len(runs)} alert(s) fired, "
                  f"{len(found)} problem(s)")
            if args.table:
                for inc in incidents:
                    print(f"    incident {inc['name']}: load "
                          f"{inc['start']:.1f}-{inc['stop']:.1f} s, "
                          + ("seen by the scrapes" if inc["visible"]
                             else "seen by no scrape")
                          + f", shown over at {inc['visible_stop']:.0f} s")
            for (alert, sev, target, *_), eps in sorted(runs.items()):
                rows.setdefault((alert, sev), {})[column] = describe(
                    eps, incidents)
                for ep in eps:
                    inc, fire, resolve = relative(ep, incidents)
                    episodes_out.append(dict(
                        fixture=column, alert=alert, severity=sev,
                        target=target, incident=inc, fires=fire,
                        resolves=resolve))
                if args.table:
                    print(f"    {alert} ({sev}, {target}): "
                          + describe(eps, incidents)
                          + "   [fires after the load started / "
                          "resolves after it stopped]")
    if not args.scenario:
        missing = sorted(needed - recorded - set(not_recorded))
        if missing:
            problems.append(
                "the rules read " + ", ".join(missing) + ", which no "
                "recording has: record an incident that exports them "
                "(tests/alerts/replay/record.py), or say under _not_recorded "
                "in expectations.yml why none can")
        stale = sorted(set(not_recorded) & recorded)
        if stale:
            problems.append("expectations.yml: _not_recorded lists "
                            + ", ".join(stale) + ", which a recording has")
        unread = sorted(set(not_recorded) - needed)
        if unread:
            problems.append("expectations.yml: _not_recorded lists "
                            + ", ".join(unread) + ", which no rule reads")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(episodes_out, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| Alert | Severity | " + " | ".join(columns) + " |\n")
            f.write("| --- | --- |" + " --- |" * len(columns) + "\n")
            for (alert, sev), cells in sorted(rows.items()):
                f.write(f"| {alert} | {sev} | "
                        + " | ".join(cells.get(c, "–") for c in columns)
                        + " |\n")
    problems = list(dict.fromkeys(problems))  # one line per problem
    for p in problems:
        print(p)
    if problems:
        print(f"replay: {len(problems)} problem(s)")
        return 1
    print(f"replay: {len(columns)} recorded incidents, every check passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ReplayError as e:
        print(f"replay: {e}", file=sys.stderr)
        sys.exit(1)
