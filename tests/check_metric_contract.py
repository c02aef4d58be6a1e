#!/usr/bin/env python3
"""The metric contract and the documentation agree.

The contract, what alerts and dashboards may read, is what the agent really
exports: the families of tests/golden/*.prom (produced by the exposition
code and compared byte for byte by the unit tests; check_dashboards.py's
load_contract reads them). So a new metric needs no list of its own: its
golden exposition puts it in the contract, and this check holds it to its
documentation: every exported name must be documented in docs/*.md (as
`name`, in a metrics table or the text), and every name in the first column
of a docs/metrics.md table that looks like one of ours must be exported, or
be one of those the agent exports outside the golden files (listed below,
each with where it comes from).
"""
import glob
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "tests/dashboards"))
from check_dashboards import GOLDEN_DIR, exported_metrics  # noqa: E402

# Exported, documented, but in no golden file: the process-wide reload
# gauges (agent/runtime/agent.cc) are written next to the targets' parts,
# which the golden files hold.
NOT_IN_GOLDEN = {
    "pgconn_config_last_reload_successful",
    "pgconn_config_last_reload_success_timestamp_seconds",
}

goldens = sorted(glob.glob(os.path.join(GOLDEN_DIR, "*.prom")))
if not goldens:
    sys.exit("check_metric_contract: no tests/golden/*.prom files")
exported = exported_metrics()
if not exported:
    sys.exit("check_metric_contract: no metric in tests/golden/*.prom")

documented = set()
for path in sorted(glob.glob(os.path.join(root, "docs", "**", "*.md"),
                             recursive=True)):
    with open(path, encoding="utf-8") as f:
        documented |= set(re.findall(r"`([a-z_][a-z0-9_]*)(?:\{[^`]*)?`",
                                     f.read()))

tabled = set()
with open(os.path.join(root, "docs", "metrics.md"), encoding="utf-8") as f:
    for line in f:
        if line.startswith("| `"):
            tabled |= set(re.findall(r"`(pgconn_[a-z0-9_]+)`",
                                     line.split("|")[1]))

problems = []
for name in sorted(exported - documented):
    problems.append(f"exported (golden files) but documented nowhere in "
                    f"docs/*.md: {name}")
for name in sorted(tabled - exported - NOT_IN_GOLDEN):
    problems.append(f"in a docs/metrics.md table but in no golden file: "
                    f"{name}")
for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"metric contract: {len(exported)} names exported, all documented; "
      f"{len(tabled)} names in docs/metrics.md tables, all exported "
      f"({len(goldens)} golden files)")
