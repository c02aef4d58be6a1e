#!/usr/bin/env bash
# The agent's resident memory and CPU for sizing a container (the requests
# and limits of deploy/kubernetes/deployment.yaml): one PostgreSQL target
# with N client connections under K application names, polled at the
# default 5 s and at 1 s, scraped every SCRAPE s the way Prometheus does
# (/metrics, gzip), plus a burst of scrapes at the end.
#
#   bench/footprint.sh [N=250] [K=25] [SECONDS=60] [SCRAPE=15]
#   (environment: AGENT, default build-image/pgconn-agent, the image's)
#
# Prints, per poll interval: VmRSS at start and end, VmHWM (the peak), and
# utime+stime over the wall time (% of one core). Not a test: gates nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-250}; k=${2:-25}; seconds=${3:-60}; scrape=${4:-15}
agent=${AGENT:-$PWD/build-image/pgconn-agent}
bindir=${PGCONN_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
work=$(mktemp -d /tmp/pgconn-footprint.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -f $work/data/postmaster.pid ]]; then
    runuser -u postgres -- "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

chown postgres "$work"
pg_port=$(free_port)
runuser -u postgres -- "$bindir/initdb" -D "$work/data" -A trust -U postgres --no-sync >/dev/null
runuser -u postgres -- "$bindir/pg_ctl" -D "$work/data" -l "$work/pg.log" -w \
  -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $work -c max_connections=$((n + 20)) -c fsync=off" start >/dev/null
coproc HOLD { /usr/bin/python3 bench/hold_connections.py "$pg_port" "$n"; }
pids+=("$HOLD_PID")
read -r line <&"${HOLD[0]}"
echo "held: $line"
echo "names $k" >&"${HOLD[1]}"
read -r line <&"${HOLD[0]}"
echo "renamed: $line"

ticks=$(getconf CLK_TCK)
measure() {
  local interval=$1 port pid start_rss end_rss hwm t0 t1 c0 c1
  port=$(free_port)
  DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres" \
    "$agent" --web.listen-address="127.0.0.1:$port" --poll.interval="$interval" \
    >"$work/agent-$interval.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
  start_rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  c0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); t0=$(date +%s.%N)
  local end=$((SECONDS + seconds))
  while ((SECONDS < end)); do
    curl -sf --compressed -o /dev/null "http://127.0.0.1:$port/metrics"
    sleep "$scrape"
  done
  # A burst: 200 scrapes back to back (several Prometheus servers, a
  # dashboard refresh storm).
  for _ in $(seq 200); do curl -sf --compressed -o /dev/null "http://127.0.0.1:$port/metrics"; done
  c1=$(awk '{print $14 + $15}' "/proc/$pid/stat"); t1=$(date +%s.%N)
  end_rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  local series
  series=$(curl -sf "http://127.0.0.1:$port/metrics" | grep -vc '^#')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  awk -v i="$interval" -v s="$start_rss" -v e="$end_rss" -v h="$hwm" \
      -v c="$((c1 - c0))" -v hz="$ticks" -v t0="$t0" -v t1="$t1" -v n="$series" \
    'BEGIN { printf "poll %s: %d series; RSS %.1f MB at start, %.1f MB at end, peak %.1f MB; CPU %.2f %% of a core over %.0f s\n",
             i, n, s / 1024, e / 1024, h / 1024, 100 * c / hz / (t1 - t0), t1 - t0 }'
}
echo "agent: $agent; $n connections, $k names, ${seconds}s each, /metrics every ${scrape}s + 200 at the end"
measure 5s
measure 1s
