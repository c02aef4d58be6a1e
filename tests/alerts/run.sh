#!/bin/bash
# Checks pgconn's alerting rules: syntax (promtool check rules), behaviour
# (promtool test rules on tests/alerts/*.test.yml), the Alertmanager example
# (amtool check-config) and conventions (check_rules.py: names, severities,
# annotations, runbooks, test coverage, the documented fire and resolve
# times). The replays on recorded incidents are tests/alerts/replay/replay.py
# (CTest alert_replay).
# Exits non-zero on the first failing step. Called from CTest.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}"

promtool="${PROMTOOL:-promtool}"
python="${PYTHON:-/usr/bin/python3}"
if ! command -v "${promtool}" >/dev/null 2>&1; then
  echo "run.sh: promtool not found (Debian package 'prometheus'; or set PROMTOOL)" >&2
  exit 1
fi

shopt -s nullglob
rules=(alerts/*.yml)
tests=(tests/alerts/*.test.yml)
if (( ${#rules[@]} == 0 || ${#tests[@]} == 0 )); then
  echo "run.sh: no rule files or no test files found" >&2
  exit 1
fi

echo "== promtool check rules ${rules[*]}"
"${promtool}" check rules "${rules[@]}"

echo "== promtool test rules ${tests[*]}"
"${promtool}" test rules "${tests[@]}"

amtool="${AMTOOL:-amtool}"
if ! command -v "${amtool}" >/dev/null 2>&1; then
  echo "run.sh: amtool not found (Debian package 'prometheus-alertmanager'; or set AMTOOL)" >&2
  exit 1
fi
echo "== amtool check-config alerts/alertmanager/alertmanager.example.yml"
"${amtool}" check-config alerts/alertmanager/alertmanager.example.yml

echo "== check_rules.py (names, severities, annotations, runbooks, coverage)"
"${python}" tests/alerts/check_rules.py --root "${root}"

echo "alerts: all checks passed"
