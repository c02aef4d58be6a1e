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
    bindir=${PGCONN_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
    if [[ -z $bindir || ! -x $bindir/initdb ]]; then
      echo "pg_template: PostgreSQL server binaries not found (install postgresql-15 or set PGCONN_PG_BINDIR)" >&2
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
