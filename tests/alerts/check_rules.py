#!/usr/bin/python3
"""Checks the conventions of pgconn's alerting rules that promtool does not.

    check_rules.py [--root DIR]

For every alert in alerts/*.yml:
  * the name is CamelCase with the prefix "Pgconn";
  * labels.severity is critical, warning or info, and alerts that share a
    name differ in severity;
  * annotations.summary is a static sentence ending with a period,
    annotations.description is templated, annotations.runbook_url points at
    docs/runbooks/<name>.md, and that runbook exists with the sections
    Meaning, Impact, Diagnosis, Mitigation and "Why this threshold";
  * every metric the expression reads is in the metric contract
    (the metrics of tests/golden/*.prom) or is Prometheus' own `up`;
  * the unit tests in tests/alerts/*.test.yml make every (alert, severity)
    fire at least once and check at least one evaluation where the alert
    must not fire;
  * docs/alerts.md mentions the alert and gives, for each severity, its
    "Fires after" and "Resolves after" times (which the replays in
    tests/alerts/replay check on recorded incidents).

Prints one line per violation and exits 1 if there is any.
Needs python3-yaml (Debian package).
"""

import argparse
import glob
import os
import re
import sys

import yaml

RUNBOOK_BASE = "https://github.com/pgconn/pgconn/blob/main/docs/runbooks/"
SEVERITIES = ("critical", "warning", "info")
NAME_RE = re.compile(r"^Pgconn(?:[A-Z][a-z0-9]*)+$")
RUNBOOK_SECTIONS = ("Meaning", "Impact", "Diagnosis", "Mitigation",
                    "Why this threshold")
# Identifiers in PromQL that are not metric names.
PROMQL_WORDS = {
    "and", "or", "unless", "on", "ignoring", "group_left", "group_right",
    "by", "without", "bool", "offset", "inf", "nan",
}
DURATION_RE = re.compile(r"\[[^\]]*\]")
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
MATCHERS_RE = re.compile(r"\{[^}]*\}")
IDENT_RE = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr):
    """Returns the metric names an expression selects (a light lexer: strip
    strings, matchers and ranges, then keep identifiers not followed by '(' and
    not used as label lists)."""
    text = STRING_RE.sub('""', expr)
    text = MATCHERS_RE.sub(" ", text)
    text = DURATION_RE.sub(" ", text)
    # Label lists after on/ignoring/by/without/group_*.
    text = re.sub(
        r"\b(on|ignoring|by|without|group_left|group_right)\s*\([^)]*\)",
        " ", text)
    names = set()
    for m in IDENT_RE.finditer(text):
        word = m.group(0)
        rest = text[m.end():].lstrip()
        if rest.startswith("("):
            continue  # a function or an aggregation
        if word.lower() in PROMQL_WORDS:
            continue
        # Skip the unit letters of durations such as "offset 10m" or "5m".
        before = text[:m.start()]
        if before and (before[-1].isdigit()):
            continue
        names.add(word)
    return names


# The one reader of the metric contract list, shared with the dashboard
# checker.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "dashboards"))
from check_dashboards import load_contract  # noqa: E402
# The reader of docs/alerts.md's fire and resolve times, shared with the
# replays.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "replay"))
from replay import bound_seconds, documented_bounds  # noqa: E402


def runbook_sections(path):
    with open(path, encoding="utf-8") as f:
        return {m.group(1).strip()
                for m in re.finditer(r"^##\s+(.+)$", f.read(), re.M)}


def check(root):
    errors = []
    contract = load_contract()  # the golden files' metrics
    contract.add("up")

    alerts = []  # (file, name, rule)
    for path in sorted(glob.glob(os.path.join(root, "alerts", "*.yml"))):
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                if "alert" in rule:
                    alerts.append((os.path.relpath(path, root), rule["alert"],
                                   rule))
    if not alerts:
        errors.append("no alerting rules found under alerts/")

    severities_by_name = {}
    for path, name, rule in alerts:
        where = f"{path}: {name}"
        if not NAME_RE.match(name):
            errors.append(f"{where}: name is not CamelCase with prefix Pgconn")
        labels = rule.get("labels") or {}
        sev = labels.get("severity")
        if sev not in SEVERITIES:
            errors.append(f"{where}: severity {sev!r} not in {SEVERITIES}")
        seen = severities_by_name.setdefault(name, [])
        if sev in seen:
            errors.append(f"{where}: two rules with severity {sev}")
        seen.append(sev)

        ann = rule.get("annotations") or {}
        summary = ann.get("summary", "")
        if not summary:
            errors.append(f"{where}: no summary")
        elif "{{" in summary:
            errors.append(f"{where}: summary must be static")
        elif not summary.endswith("."):
            errors.append(f"{where}: summary must end with a period")
        desc = ann.get("description", "")
        if "{{" not in desc or "$labels.target" not in desc and \
                "$labels.instance" not in desc:
            errors.append(f"{where}: description must be templated and "
                          "name the target or instance")
        url = ann.get("runbook_url", "")
        if url != RUNBOOK_BASE + name + ".md":
            errors.append(f"{where}: runbook_url {url!r} is not "
                          f"{RUNBOOK_BASE}{name}.md")
        runbook = os.path.join(root, "docs", "runbooks", name + ".md")
        if len(seen) > 1:
            pass  # the runbook of a shared name was checked with its first rule
        elif not os.path.isfile(runbook):
            errors.append(f"{where}: missing runbook docs/runbooks/{name}.md")
        else:
            missing = [s for s in RUNBOOK_SECTIONS
                       if s not in runbook_sections(runbook)]
            if missing:
                errors.append(f"{where}: runbook lacks sections {missing}")
        for metric in sorted(metric_names(rule.get("expr", ""))):
            if metric not in contract:
                errors.append(f"{where}: reads {metric}, which is not in the "
                              "metric contract")

    # Unit-test coverage.
    fired = set()       # (alertname, severity)
    silent = set()      # alertname with an evaluation expecting no alert
    for path in sorted(glob.glob(os.path.join(root, "tests", "alerts",
                                              "*.test.yml"))):
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for test in doc.get("tests", []):
            for case in test.get("alert_rule_test", []) or []:
                name = case.get("alertname")
                exp = case.get("exp_alerts") or []
                if not exp:
                    silent.add(name)
                for a in exp:
                    fired.add((name, (a.get("exp_labels") or {}).get(
                        "severity")))
    for name, sevs in sorted(severities_by_name.items()):
        for sev in sevs:
            if (name, sev) not in fired:
                errors.append(f"tests/alerts: no test makes {name} "
                              f"(severity {sev}) fire")
        if name not in silent:
            errors.append(f"tests/alerts: no test checks that {name} stays "
                          "silent")

    alerts_md = os.path.join(root, "docs", "alerts.md")
    text = open(alerts_md, encoding="utf-8").read() \
        if os.path.isfile(alerts_md) else ""
    for name in sorted(severities_by_name):
        if name not in text:
            errors.append(f"docs/alerts.md: {name} is not listed")
    # Every (alert, severity) has a row with its fire and resolve times, in
    # the notation the replays read (tests/alerts/replay/replay.py).
    bounds = documented_bounds(alerts_md) if text else {}
    for name, sevs in sorted(severities_by_name.items()):
        for sev in sevs:
            row = bounds.get((name, sev))
            if row is None:
                errors.append(f"docs/alerts.md: no row with \"Fires after\" "
                              f"and \"Resolves after\" for {name} ({sev})")
            elif not row[0] or bound_seconds(row[1], 1, 60) is None:
                errors.append(f"docs/alerts.md: {name} ({sev}): \"Fires "
                              f"after\" {row[0]!r} or \"Resolves after\" "
                              f"{row[1]!r} says no time")

    return errors, severities_by_name


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--root",
        default=os.path.normpath(os.path.join(os.path.dirname(
            os.path.abspath(__file__)), "..", "..")),
        help="repository root (default: two levels above this script)")
    args = parser.parse_args()
    errors, names = check(args.root)
    for e in errors:
        print(e)
    if errors:
        print(f"check_rules: {len(errors)} problem(s)")
        return 1
    rules = sum(len(v) for v in names.values())
    print(f"check_rules: {len(names)} alerts ({rules} rules) follow the "
          "conventions, have runbooks and unit tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
