#!/usr/bin/env bash
# The pg_template CTest fixture: one initdb for the whole run, which every
# integration test process copies instead of running initdb itself
# (PGCONN_PG_TEMPLATE, tests/integration/pg_server.cc).
#
#   pg_template.sh setup DIR     initdb into DIR (as postgres when root)
#   pg_template.sh cleanup DIR   delete DIR
set -euo pipefail
action=$1
dir=$2
case "$action" in
  setup)
    # Debian 12's PostgreSQL 15 unless the version matrix names another
    # major's binaries (tests/postgres-versions, see CMakeLists.txt).
    bindir=${PGCONN_PG_BINDIR:-/usr/lib/postgresql/15/bin}
    if [[ ! -x $bindir/initdb || ! -x $bindir/postgres ]]; then
      echo "pg_template: PostgreSQL server binaries not found in $bindir (by default Debian's postgresql-15; the other majors come from tests/postgres-versions, installed by scripts/install-deps.sh)" >&2
      exit 1
    fi
    # The server runs as postgres: it must reach its binaries and libraries.
    if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- "$bindir/postgres" --version >/dev/null; then
      echo "pg_template: the postgres user cannot run $bindir/postgres (is every directory above it searchable by others?)" >&2
      exit 1
    fi
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    as_owner=()
    if [[ $(id -u) -eq 0 ]]; then
      mkdir -p "$dir"
      chown postgres "$dir"
      as_owner=(runuser -u postgres --)
    fi
    "${as_owner[@]}" "$bindir/initdb" -D "$dir" -A trust -U postgres --no-sync -E UTF8 >/dev/null
    ;;
  cleanup)
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg_template.sh setup|cleanup DIR" >&2
    exit 2
    ;;
esac
