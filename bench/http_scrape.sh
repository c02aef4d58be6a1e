#!/usr/bin/env bash
# Scraping the HTTP front door: wrk on 4 keep-alive connections, plain and
# gzip, against pgconn and postgres_exporter (Debian's
# prometheus-postgres-exporter) on the same throwaway PostgreSQL, side by
# side; then the same with 500 idle sockets held open against each.
#
#   bench/http_scrape.sh [SECONDS=10]
#
# Prints p50/p99 latency and scrapes/s per row. Needs wrk and
# prometheus-postgres-exporter. Not a test: prints numbers, gates nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_=${1:-10}

agent=build/pgconn-agent
[[ -x $agent ]] || { echo "build $agent first" >&2; exit 1; }
exporter=/usr/bin/prometheus-postgres-exporter
[[ -x $exporter ]] || { echo "apt-get install -y prometheus-postgres-exporter for the baseline" >&2; exit 1; }
command -v wrk >/dev/null || { echo "apt-get install -y wrk" >&2; exit 1; }

source bench/lib.sh
ulimit -n 4096
bench_postgres
dsn="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable"

aport=$(free_port)
DATABASE_URL="$dsn" "$agent" --web.listen-address=127.0.0.1:$aport --log.level=warn \
  >/dev/null 2>&1 </dev/null &
pids+=($!)
eport=$(free_port)
DATA_SOURCE_NAME="$dsn" "$exporter" --web.listen-address=127.0.0.1:$eport \
  >/dev/null 2>&1 </dev/null &
pids+=($!)
for p in $aport $eport; do
  until curl -sf "127.0.0.1:$p/metrics" >/dev/null; do sleep 0.2; done
done
sleep 6  # past the agent's first polls

printf 'wrk.headers["Accept-Encoding"] = "gzip"\n' >"$dir/gzip.lua"

source bench/wrk.sh  # run_wrk

# Holds N idle TCP connections to a port until killed.
cat >"$dir/hold_idle.py" <<'PY'
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1])))
         for _ in range(int(sys.argv[2]))]
time.sleep(3600)
PY

echo "| | pgconn p50 / p99 ms | pgconn scrapes/s | postgres_exporter p50 / p99 ms | postgres_exporter scrapes/s |"
echo "|---|---|---|---|---|"
for mode in plain gzip; do
  args=()
  [[ $mode == gzip ]] && args=(-s "$dir/gzip.lua")
  read -r ap50 ap99 arps < <(run_wrk "http://127.0.0.1:$aport/metrics" "${args[@]}")
  read -r ep50 ep99 erps < <(run_wrk "http://127.0.0.1:$eport/metrics" "${args[@]}")
  echo "| 4 keep-alive, $mode | $ap50 / $ap99 | $arps | $ep50 / $ep99 | $erps |"
done
python3 "$dir/hold_idle.py" "$aport" 500 >/dev/null 2>&1 &
pids+=($!)
python3 "$dir/hold_idle.py" "$eport" 500 >/dev/null 2>&1 &
pids+=($!)
sleep 3
read -r ap50 ap99 arps < <(run_wrk "http://127.0.0.1:$aport/metrics")
read -r ep50 ep99 erps < <(run_wrk "http://127.0.0.1:$eport/metrics")
echo "| 4 keep-alive, plain, 500 idle sockets open | $ap50 / $ap99 | $arps | $ep50 / $ep99 | $erps |"
echo
echo "pgconn resident memory after: $(awk '/VmRSS/ {print $2, $3}' /proc/${pids[0]}/status)," \
     "exposition $(curl -s 127.0.0.1:$aport/metrics | wc -c) bytes," \
     "gzip $(curl -s -H 'Accept-Encoding: gzip' 127.0.0.1:$aport/metrics | wc -c) bytes"
