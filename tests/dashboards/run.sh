#!/bin/bash
# Checks pgconn's Grafana dashboards and their provisioning:
#  1. every dashboards/*.json is valid JSON (python3 -m json.tool);
#  2. check_dashboards.py: the dashboard conventions, on every panel;
#  3. test_check_dashboards.py: the checker's own unit tests;
#  4. evaluate_queries.py: every panel query parses (promtool check rules)
#     and returns data on contract-shaped series (promtool test rules);
#  5. check_provisioning.py and promtool check config on the provisioning
#     and scrape examples.
# Exits non-zero on the first failing step. Called from CTest.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}"

python="${PYTHON:-/usr/bin/python3}"
promtool="${PROMTOOL:-promtool}"
if ! command -v "${promtool}" >/dev/null 2>&1; then
  echo "run.sh: promtool not found (Debian package 'prometheus'; or set PROMTOOL)" >&2
  exit 1
fi
export PROMTOOL="${promtool}"

shopt -s nullglob
dashboards=(dashboards/*.json)
if (( ${#dashboards[@]} == 0 )); then
  echo "run.sh: no dashboards found" >&2
  exit 1
fi

echo "== python3 -m json.tool ${dashboards[*]}"
for d in "${dashboards[@]}"; do
  "${python}" -m json.tool "${d}" >/dev/null
done
echo "valid JSON"

echo "== check_dashboards.py ${dashboards[*]}"
"${python}" tests/dashboards/check_dashboards.py "${dashboards[@]}"

echo "== test_check_dashboards.py"
"${python}" -m unittest tests/dashboards/test_check_dashboards.py

echo "== evaluate_queries.py (promtool: parse and evaluate every query)"
"${python}" tests/dashboards/evaluate_queries.py "${dashboards[@]}"

echo "== check_provisioning.py"
"${python}" tests/dashboards/check_provisioning.py --root "${root}"

echo "== promtool check config dashboards/prometheus-scrape.example.yml"
"${promtool}" check config dashboards/prometheus-scrape.example.yml

echo "dashboards: all checks passed"
