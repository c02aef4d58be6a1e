#!/bin/bash
# Type-checks dashboards against @grafana/schema:
#   schema/check.sh [--out DIR] DASHBOARD.json...
# Generates one TypeScript file per dashboard (generate.py) and runs
# `tsc --noEmit --strict` on them. Needs `npm ci` in tests/dashboards
# (scripts/install-deps.sh runs it); fails, never skips, without it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
modules="${here}/../node_modules"
out=""
if [[ "${1:-}" == "--out" ]]; then
  out="$2"
  shift 2
fi
if [[ ! -x "${modules}/.bin/tsc" || ! -d "${modules}/@grafana/schema" ]]; then
  echo "schema/check.sh: ${modules} lacks typescript or @grafana/schema;" \
    "run: npm ci --prefix tests/dashboards" >&2
  exit 1
fi
if [[ -z "${out}" ]]; then
  out="$(mktemp -d)"
  trap 'rm -rf "${out}"' EXIT
fi
"${PYTHON:-/usr/bin/python3}" "${here}/generate.py" \
  --schema "${modules}/@grafana/schema" --out "${out}" "$@"
node "${modules}/typescript/bin/tsc" --project "${out}/tsconfig.json" --pretty false
echo "schema: $# dashboard(s) match @grafana/schema $(node -p "require('${modules}/@grafana/schema/package.json').version")"
