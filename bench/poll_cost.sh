#!/usr/bin/env bash
# Cost of one poll with N idle client connections open, pgconn against
# postgres_exporter (Debian's prometheus-postgres-exporter) on the same
# server, side by side.
#
#   bench/poll_cost.sh [N=400] [SAMPLES=20]
#
# Prints, for pgconn, the poll duration the agent reports
# (pgconn_poll_duration_seconds: the full round trip of its single query)
# and the server-side time per collector; for postgres_exporter, the time of
# one /metrics scrape (it queries the database during the scrape); and the
# statements each runs per poll/scrape, counted from pg_stat_statements.
# Needs the packages of scripts/debian-packages.txt plus
# prometheus-postgres-exporter. Not a test: prints numbers, gates nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-400}
SAMPLES=${2:-20}

agent=build/pgconn-agent
[[ -x $agent ]] || { cmake -S . -B build >/dev/null && cmake --build build -j"$(nproc)" --target pgconn-agent; }
exporter=/usr/bin/prometheus-postgres-exporter
[[ -x $exporter ]] || { echo "install prometheus-postgres-exporter for the baseline" >&2; exit 1; }

bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/pgconn-bench-XXXXXX)
as_owner=()
if [[ $(id -u) -eq 0 ]]; then chown postgres "$dir"; as_owner=(runuser -u postgres --); fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
  "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=$((N + 20)) \
   -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" start >/dev/null
psql_() { psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }
psql_ -c "CREATE EXTENSION pg_stat_statements"

echo "opening $N idle connections..."
for ((i = 0; i < N; i++)); do
  setsid bash -c '(echo "SELECT 1;"; exec sleep 3600) | PGAPPNAME=worker-$(( $2 % 10 )) \
    psql -X -q -h 127.0.0.1 -p "$1" -U postgres -d postgres' _ "$port" "$i" >/dev/null 2>&1 &
  pids+=($!)
done
until [[ $(psql_ -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'worker-%'") -ge $N ]]; do
  sleep 0.2
done
echo "backends: $(psql_ -At -c "SELECT count(*) FROM pg_stat_activity")"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# pgconn: poll every second, read its own measurement of each poll.
aport=$(free_port)
psql_ -c "SELECT pg_stat_statements_reset()" >/dev/null
DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres" \
  "$agent" --web.listen-address=127.0.0.1:$aport --poll.interval=1s --log.level=warn \
  >/dev/null 2>&1 < /dev/null &
pids+=($!)
durations=()
last=0
while [[ ${#durations[@]} -lt $SAMPLES ]]; do
  body=$(curl -s "127.0.0.1:$aport/metrics" || true)
  polls=$(awk '/^pgconn_polls_total/ {print $2}' <<<"$body")
  if [[ -n "$polls" && "$polls" != "$last" ]]; then
    last=$polls
    durations+=("$(awk '/^pgconn_poll_duration_seconds/ {print $2}' <<<"$body")")
  fi
  sleep 0.2
done
pgconn_polls=$last
pgconn_stmts=$(psql_ -At -c "SELECT coalesce(sum(calls),0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'")
stmt_before=$(psql_ -At -c "SELECT coalesce(sum(calls),0) FROM pg_stat_statements")
pgconn_load=$(bench/scrape_load.py "http://127.0.0.1:$aport/metrics" 4 10 "${pids[-1]}")
stmt_after=$(psql_ -At -c "SELECT coalesce(sum(calls),0) FROM pg_stat_statements")
pgconn_load_stmts=$((stmt_after - stmt_before))
kill "${pids[-1]}"
grep -q '^pgconn_up{target="[^"]*"} 1' <<<"$body" || { echo "pgconn could not poll the server" >&2; exit 1; }
echo
echo "pgconn ($N idle connections, $SAMPLES polls):"
echo "  poll duration median $(printf '%s\n' "${durations[@]:1}" | median)s  (first poll, with connect: ${durations[0]}s)"
echo "  per collector (server time, last poll):"
grep '^pgconn_collector_duration_seconds' <<<"$body" | sed 's/^/    /'
ncollectors=$(grep -c '^pgconn_collector_duration_seconds' <<<"$body")
echo "  statements per poll: $(awk -v s="$pgconn_stmts" -v p="$pgconn_polls" 'BEGIN {printf "%.1f", s/p}') in one round trip ($ncollectors collectors + $((ncollectors + 1)) server clock reads)"
echo "  under load: $pgconn_load"
echo "  statements reaching PostgreSQL during 10 s of 4 concurrent scrapers: $pgconn_load_stmts"

# postgres_exporter: each scrape queries the database.
eport=$(free_port)
DATA_SOURCE_NAME="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable" \
  "$exporter" --web.listen-address=127.0.0.1:$eport >/dev/null 2>&1 < /dev/null &
pids+=($!)
until curl -sf "127.0.0.1:$eport/metrics" >/dev/null; do sleep 0.2; done
psql_ -c "SELECT pg_stat_statements_reset()" >/dev/null
times=()
for ((i = 0; i < SAMPLES; i++)); do
  times+=("$(curl -s -o /dev/null -w '%{time_total}' "127.0.0.1:$eport/metrics")")
done
exp_stmts=$(psql_ -At -c "SELECT coalesce(sum(calls),0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'")
echo
echo "postgres_exporter $($exporter --version 2>&1 | head -n 1 | awk '{print $3}') ($N idle connections, $SAMPLES scrapes):"
echo "  scrape duration median $(printf '%s\n' "${times[@]}" | median)s"
echo "  statements per scrape: $(awk -v s="$exp_stmts" -v p="$SAMPLES" 'BEGIN {printf "%.1f", s/p}')"
stmt_before=$(psql_ -At -c "SELECT coalesce(sum(calls),0) FROM pg_stat_statements")
echo "  under load: $(bench/scrape_load.py "http://127.0.0.1:$eport/metrics" 4 10 "${pids[-1]}")"
stmt_after=$(psql_ -At -c "SELECT coalesce(sum(calls),0) FROM pg_stat_statements")
echo "  statements reaching PostgreSQL during 10 s of 4 concurrent scrapers: $((stmt_after - stmt_before))"
