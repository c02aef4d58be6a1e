#!/usr/bin/python3
"""Shows that every check of replay.py can fail: runs it on the recorded
incidents with planted mistakes and requires a failure naming each one.

    test_replay_checks.py [REPLAY_ARGS...]   (e.g. --incidents DIR)

The planted rules are a copy of alerts/*.yml in which
  - PgconnConnectionsPeakExhausted has the expression it had before the
    replays (silent while no slot is free, then paging on the held peak
    after recovery): "no page after recovery" must fail;
  - PgconnConnectionsRefused counts over 10 minutes, as it did: its
    documented "Resolves after" must fail, and the expectations too;
  - a new alert, PgconnPlantedAlways, fires whenever a target is up and
    reads a metric that no recording has: "does not expect it", "no
    Resolves after" and "no recording has" must fail;
and the Alertmanager configuration mutes PgconnConnectionsRefused while
PgconnConnectionsExhausted fires (the direction docs/alerts.md explains we
did not choose): "muted ... fires unmuted" must fail.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

OLD_PEAK = """pgconn_used_connections_peak
  >= on(target, instance, job) pgconn_usable_connections
unless on(target, instance, job)
  pgconn_available_connections == 0
and on(target, instance, job)
  pgconn_up == 1
"""

PLANTED = {
    "alert": "PgconnPlantedAlways",
    "expr": "pgconn_up == 1 or pgconn_planted_metric",
    "labels": {"severity": "warning"},
    "annotations": {"summary": "Planted.", "description": "{{ $labels.target }}"},
}

# What the output must say (regular expressions), one per planted mistake.
EXPECTED = [
    ("no page after recovery",
     r"PgconnConnectionsPeakExhausted \(critical, target main\) starts "
     "firing at .*, after the scrapes showed incident"),
    ("documented resolve time",
     r"PgconnConnectionsRefused \(critical, target main\) resolves .* "
     "docs/alerts.md says"),
    ("expectations: resolve",
     r"PgconnConnectionsRefused \(critical\) resolves at .*, expected by"),
    ("expectations: unexpected alert",
     r"PgconnPlantedAlways \(warning, target main\) fires at .* does not "
     "expect it"),
    ("documentation missing", r'no "Resolves after" for PgconnPlantedAlways'),
    ("metric recorded nowhere",
     r"the rules read .*pgconn_planted_metric.*, which no recording has"),
    ("inhibition that does not outlive its target",
     r"PgconnConnectionsRefused \(critical, target main\) was muted by the "
     "Alertmanager example's inhibit rules and fires unmuted"),
]


def planted_rules(out_dir):
    for path in sorted(glob.glob(os.path.join(ROOT, "alerts", "*.yml"))):
        with open(path) as f:
            doc = yaml.safe_load(f)
        for group in doc["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == "PgconnConnectionsPeakExhausted":
                    rule["expr"] = OLD_PEAK
                if rule.get("alert") == "PgconnConnectionsRefused":
                    rule["expr"] = rule["expr"].replace("[2m]", "[10m]") \
                        .replace("offset 2m", "offset 10m")
        if os.path.basename(path) == "pgconn.rules.yml":
            doc["groups"][0]["rules"].append(PLANTED)
        with open(os.path.join(out_dir, os.path.basename(path)), "w") as f:
            yaml.safe_dump(doc, f, sort_keys=False)


def inverted_alertmanager(path):
    config = {"route": {"receiver": "r"}, "receivers": [{"name": "r"}],
              "inhibit_rules": [{
                  "source_matchers": ['alertname = "PgconnConnectionsExhausted"'],
                  "target_matchers": ['alertname = "PgconnConnectionsRefused"'],
                  "equal": ["target"]}]}
    with open(path, "w") as f:
        yaml.safe_dump(config, f)


def main():
    with tempfile.TemporaryDirectory(prefix="pgconn-replay-checks-") as tmp:
        planted_rules(tmp)
        os.mkdir(os.path.join(tmp, "am"))
        am = os.path.join(tmp, "am", "alertmanager.yml")
        inverted_alertmanager(am)
        run = subprocess.run(
            [sys.executable, os.path.join(HERE, "replay.py"),
             "--rules", os.path.join(tmp, "*.yml"), "--alertmanager", am]
            + sys.argv[1:], capture_output=True, text=True)
    out = run.stdout + run.stderr
    missing = [what for what, rx in EXPECTED if not re.search(rx, out)]
    if run.returncode != 1 or missing:
        print(out[-6000:])
        print(f"test_replay_checks: replay.py exited {run.returncode}; "
              f"not reported: {missing}")
        return 1
    print(f"test_replay_checks: replay.py failed on each of the "
          f"{len(EXPECTED)} planted mistakes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
