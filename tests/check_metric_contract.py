#!/usr/bin/env python3
"""The metric contract list and the agent's real output agree.

tests/dashboards/pgconn_metrics.txt is what alerts and dashboards may use;
tests/golden/*.prom is what the agent really exports (the golden files are
produced by the exposition code and compared byte for byte by the unit tests).
Every listed name must be exported, and every exported name must be listed,
so that neither a dashboard nor an alert can drift from the agent.
"""
import glob
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "tests/dashboards"))
from check_dashboards import load_contract  # noqa: E402

listed = load_contract(os.path.join(root, "tests/dashboards/pgconn_metrics.txt"))
if not listed:
    sys.exit("check_metric_contract: tests/dashboards/pgconn_metrics.txt is empty")

exported = set()
goldens = sorted(glob.glob(os.path.join(root, "tests/golden/*.prom")))
if not goldens:
    sys.exit("check_metric_contract: no tests/golden/*.prom files")
for path in goldens:
    with open(path) as f:
        for line in f:
            m = re.match(r"# TYPE (\S+) ", line)
            if m:
                exported.add(m.group(1))

problems = []
for name in sorted(listed - exported):
    problems.append(f"listed in pgconn_metrics.txt but in no golden file: {name}")
for name in sorted(exported - listed):
    problems.append(f"exported (golden files) but not listed in pgconn_metrics.txt: {name}")
for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"metric contract: {len(listed)} names, all exported, none unlisted "
      f"({len(goldens)} golden files)")
