#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/debian-packages.txt that are
# missing: `apt-get update` once, then one `apt-get install -y`. Does nothing
# when everything is there already.
#
#   scripts/install-deps.sh            every section
#   scripts/install-deps.sh build      only "# section: build" (Dockerfile)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sections=" $* "
mapfile -t packages < <(awk -v want="$sections" '
  /^# section: / { section = $3; next }
  /^[[:space:]]*(#|$)/ { next }
  want == "  " || index(want, " " section " ") { print $1 }
' "$here/debian-packages.txt")
if [[ ${#packages[@]} -eq 0 ]]; then
  echo "install-deps: no packages in section(s):$sections" >&2
  exit 1
fi

# Packages that count as present when their command is, whoever installed
# it: NodeSource's nodejs package bundles npm and conflicts with Debian's.
declare -A command_of=([npm]=npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] && continue
  cmd=${command_of[$p]:-}
  [[ -n "$cmd" ]] && command -v "$cmd" >/dev/null && continue
  missing+=("$p")
done
# Node packages the tests use, each folder pinned by its package-lock.json:
# - tests/dashboards: @grafana/schema, which the dashboards' schema check
#   compiles them against;
# - tests/deploy: kubernetes-models and @kubernetes-models/prometheus-operator,
#   which deploy/kubernetes/ is validated against;
# - tests/postgres-versions: official PostgreSQL builds of the majors
#   Debian 12 lacks (14, 16, 17, 18), for the integration tests' version
#   matrix (CMakeLists.txt).
# npm ci installs exactly the lock file's versions into the folder's
# node_modules, from npm's cache when it has them, and only when the lock
# file is newer than what is installed. Nothing to do where the tests are
# not: the Dockerfile's build stage copies only scripts/.
npm_ci() {
  local dir
  for dir in "$here/../tests/dashboards" "$here/../tests/deploy" \
    "$here/../tests/postgres-versions"; do
    [[ -f "$dir/package-lock.json" ]] || continue
    if [[ ! "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]]; then
      echo "install-deps: npm ci in ${dir#"$here/../"}"
      # Install scripts are not run: the one the PostgreSQL packages have
      # (it recreates the shared libraries' symbolic links, which npm
      # archives cannot hold) is replaced by postgres_links below.
      npm ci --prefix "$dir" --prefer-offline --no-audit --no-fund \
        --ignore-scripts
    fi
  done
  postgres_links "$here/../tests/postgres-versions/node_modules"
}
# Each PostgreSQL package lists the symbolic links of its native/lib
# (libpq.so.5 -> libpq.so.5.18 ...) in native/pg-symlinks.json; the
# binaries find their libraries through them ($ORIGIN/../lib). Creates the
# missing ones, relative, as the package's own script would.
postgres_links() {
  local modules=$1 pkg
  for pkg in "$modules"/pg*/; do
    [[ -f "$pkg/native/pg-symlinks.json" ]] || continue
    node -e '
      const fs = require("fs"), path = require("path");
      const pkg = process.argv[1];
      const links = JSON.parse(fs.readFileSync(path.join(pkg, "native/pg-symlinks.json")));
      for (const { source, target } of links) {
        const at = path.join(pkg, target);
        try { fs.lstatSync(at); continue; } catch {}
        fs.symlinkSync(path.relative(path.dirname(at), path.join(pkg, source)), at);
      }' "$pkg"
  done
}
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} Debian packages present"
  npm_ci
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then
    SUDO=sudo
  else
    echo "install-deps: run as root, or install these packages: ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
npm_ci
