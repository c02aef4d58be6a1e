#!/usr/bin/env bash
# A fleet: one agent polling N targets every 5 s, next to postgres_exporter
# (Debian's prometheus-postgres-exporter) polling the same N targets, all on
# one throwaway PostgreSQL with SESSIONS client sessions held open.
#
#   bench/fleet.sh [N=500] [WINDOW=60] [SESSIONS=100]
#
#   environment: AGENT=path/to/pgconn-agent (default build/pgconn-agent),
#                BASELINE=path/to/another/pgconn-agent (optional: measured
#                side by side in the same run, e.g. a build of main),
#                SCRAPE_SECONDS=20 (the wrk phase per process),
#                EXPORTER_WAIT=300 (seconds for postgres_exporter's first
#                complete scrape; past it, the run goes on without it),
#                AUTH_TIMEOUT=2s (the server's authentication_timeout; see
#                below)
#
# The N targets are N entries (t0001 ...) of one server, each with its own
# connection: a target's poll scans every backend of that server, which is
# the SESSIONS held sessions plus the connections of every process measured
# (so every target sees N or 2N more backends than SESSIONS, the same for
# each process). postgres_exporter 0.11 gets the same N entries as a
# comma-separated DATA_SOURCE_NAME (one application name; each entry on a
# loopback address of its own, so at most 63 entries) and is
# scraped every 5 s, so it polls each target once per 5 s as well (or back
# to back if a scrape takes longer).
#
# Steady phase (WINDOW seconds, no other load but one gzip scrape per 5 s of
# each process): CPU per target-poll from /proc/PID/stat (utime + stime)
# divided by the polls done in the window (pgconn: the sum of
# pgconn_polls_total, read per target from /probe; the exporter: completed
# scrapes x N), threads, RSS and private memory (/proc/PID/smaps_rollup
# Private_Clean + Private_Dirty), the exposition's bytes plain and gzip.
# Then the scrape phase: wrk on 4 keep-alive connections asking for gzip,
# SCRAPE_SECONDS per process, one process at a time, while the polls go
# on: p50/p99 and scrapes/s.
#
# Prints a markdown table with postgres_exporter's numbers as ratios to
# pgconn's. Needs wrk and prometheus-postgres-exporter. Not a test: prints
# numbers, gates nothing.
set -euo pipefail
agent=${AGENT:-build/pgconn-agent}
baseline=${BASELINE:-}
[[ $agent == /* ]] || agent=$PWD/$agent
[[ -z $baseline || $baseline == /* ]] || baseline=$PWD/$baseline
cd "$(dirname "$0")/.."
N=${1:-500}
WINDOW=${2:-60}
SESSIONS=${3:-100}
SCRAPE_SECONDS=${SCRAPE_SECONDS:-20}
for v in "$N" "$WINDOW" "$SESSIONS" "$SCRAPE_SECONDS"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "fleet.sh: bad number '$v'" >&2; exit 2; }
done
[[ -x $agent ]] || { echo "fleet.sh: no agent binary at $agent (build it first)" >&2; exit 1; }
[[ -z $baseline || -x $baseline ]] || { echo "fleet.sh: no baseline at $baseline" >&2; exit 1; }
exporter=/usr/bin/prometheus-postgres-exporter
[[ -x $exporter ]] || { echo "apt-get install -y prometheus-postgres-exporter for the baseline" >&2; exit 1; }
command -v wrk >/dev/null || { echo "apt-get install -y wrk" >&2; exit 1; }

source bench/lib.sh
agents=("$agent")
[[ -n $baseline ]] && agents+=("$baseline")
backends=$(((${#agents[@]} + 1) * N + SESSIONS + 20))
bench_need_memory "$backends"
ulimit -n $((4 * N + 1024))
# authentication_timeout 2 s: the opened-connections stage reads, at every
# poll, the identities of the backends started within 2 x
# authentication_timeout + 10 s (activity_scan.cc). Here every target sees
# every other process's connections, all opened at the start: with the
# default 60 s, the first 130 s of a run would measure N x (N + SESSIONS)
# identities per round, which a fleet of N servers never has.
# AUTH_TIMEOUT=60s measures that start-up phase.
# postgres_exporter labels its series by the entry's host:port alone, so N
# entries of one server collide (its scrape fails with HTTP 500, "collected
# before with the same name and label values"). Each of its entries gets a
# loopback address of its own (127.0.1.i), which PostgreSQL listens on too:
# at most 63 besides 127.0.0.1 (PostgreSQL's MAXLISTEN is 64). Past that
# the exporter is left out.
listen=127.0.0.1
exporter_entries=0
if ((N <= 63)); then
  exporter_entries=$N
  for ((i = 1; i <= N; i++)); do listen+=",127.0.1.$i"; done
fi
bench_postgres -c max_connections=$backends -c shared_buffers=64MB \
  -c authentication_timeout="${AUTH_TIMEOUT:-2s}" -c listen_addresses="$listen"
if ((exporter_entries > 0)); then
  echo "host all all 127.0.0.0/8 trust" >>"$dir/data/pg_hba.conf"
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" reload >/dev/null
fi
psql_() { psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }
echo "PostgreSQL $(psql_ -At -c 'SHOW server_version'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg);" \
  "N=$N targets at 5 s, $SESSIONS held sessions, window ${WINDOW} s, wrk ${SCRAPE_SECONDS} s"

coproc HOLD { "$python" bench/hold_connections.py "$port" "$SESSIONS"; }
pids+=($HOLD_PID)
read -r line <&"${HOLD[0]}"
[[ $line == "open $SESSIONS" ]] || { echo "fleet.sh: hold_connections said '$line'" >&2; exit 1; }

config=$dir/fleet.yaml
{
  echo "poll_interval: 5s"
  echo "log_level: warn"
  echo "targets:"
  for ((i = 1; i <= N; i++)); do
    printf '  - name: t%04d\n    url: postgresql://postgres@127.0.0.1:%s/postgres\n' "$i" "$port"
  done
} >"$config"

names=() ports=() procs=() kinds=()
for a in "${agents[@]}"; do
  p=$(free_port)
  "$a" --config.file "$config" --web.listen-address=127.0.0.1:$p >"$dir/agent-$p.log" 2>&1 </dev/null &
  pids+=($!) procs+=($!) ports+=($p) kinds+=(pgconn)
  names+=("pgconn $(git -C "$(dirname "$a")" rev-parse --short HEAD 2>/dev/null || echo "$a")")
done
if ((exporter_entries > 0)); then
  dsns=()
  for ((i = 1; i <= N; i++)); do
    # One application name for all (N names would grow every target's
    # exposition); one loopback address per entry (see above).
    dsns+=("postgresql://postgres@127.0.1.$i:$port/postgres?sslmode=disable&application_name=postgres_exporter")
  done
  eport=$(free_port)
  # Its newer collector package (bgwriter, database) labels nothing by
  # server either, so with several entries every scrape fails: those two
  # are off; the default metric maps (pg_stat_activity, pg_stat_database,
  # pg_locks, settings, ...) run per entry.
  DATA_SOURCE_NAME=$(IFS=,; echo "${dsns[*]}") "$exporter" --web.listen-address=127.0.0.1:$eport \
    --no-collector.database --no-collector.bgwriter \
    --log.level=error >"$dir/exporter.log" 2>&1 </dev/null &
  pids+=($!) procs+=($!) ports+=($eport) kinds+=(exporter) names+=("postgres_exporter")
else
  echo "postgres_exporter: left out at $N targets (its series are labelled by host:port, and one server listens on at most 63 more loopback addresses)"
fi

# Every agent polled every target at least once; the exporter scraped once.
deadline=$((SECONDS + 300))
# Polls done: each target's own counter from /probe, which is assembled
# from the target's latest part when asked. (/metrics of a large fleet may
# be a build up to a few seconds old, which miscounted the window's polls
# by up to a quarter.) One curl, one keep-alive connection, N requests.
polls() {
  curl -sf --compressed "127.0.0.1:$1/probe?target=t[0001-$(printf %04d "$N")]" |
    awk '/^pgconn_polls_total/ {s += $2; n++} END {printf "%d\n", (n == '"$N"' ? s : -1)}'
}
for i in "${!procs[@]}"; do
  [[ ${kinds[$i]} == pgconn ]] || continue
  until curl -sf "127.0.0.1:${ports[$i]}/readyz" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "fleet.sh: ${names[$i]} not ready" >&2; tail "$dir/agent-${ports[$i]}.log" >&2; exit 1; }
    sleep 1
  done
done
if ((exporter_entries > 0)) && ! curl -sf -o /dev/null --max-time "${EXPORTER_WAIT:-300}" "127.0.0.1:$eport/metrics"; then
  # On a machine too loaded for it, the run goes on without the baseline.
  echo "postgres_exporter: no complete scrape of $N targets in ${EXPORTER_WAIT:-300} s; left out of this run"
  kill "${procs[-1]}" 2>/dev/null || true
  unset 'procs[-1]' 'ports[-1]' 'kinds[-1]' 'names[-1]'
fi
sleep 15  # the start-up round settles into its 5 s rhythm; its connections age past the recent window

# Scrapes every 5 s (back to back when a scrape takes longer), counting
# completed scrapes in FILE.
scrape_loop() {  # PORT FILE
  : >"$2"
  while :; do
    local t0=$SECONDS
    curl -sf -o /dev/null --compressed --max-time 120 "127.0.0.1:$1/metrics" && echo ok >>"$2"
    local left=$((5 - (SECONDS - t0)))
    ((left > 0)) && sleep "$left"
  done
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
declare -A t0 p0 loop
for i in "${!procs[@]}"; do
  [[ ${kinds[$i]} == pgconn ]] && p0[$i]=$(polls "${ports[$i]}")
  t0[$i]=$(ticks "${procs[$i]}")
  scrape_loop "${ports[$i]}" "$dir/scrapes-$i" &
  loop[$i]=$!
  pids+=($!)
done
sleep "$WINDOW"
declare -A cpu_ms per_poll thr priv rss plain gz
for i in "${!procs[@]}"; do
  pid=${procs[$i]}
  cpu_ms[$i]=$(((($(ticks "$pid") - t0[$i]) * 1000) / hz))
  if [[ ${kinds[$i]} == pgconn ]]; then
    p1=$(polls "${ports[$i]}")
    ((p0[$i] >= 0 && p1 >= 0)) || { echo "fleet.sh: ${names[$i]}: /probe did not answer for every target" >&2; exit 1; }
    done_polls=$((p1 - p0[$i]))
  else
    done_polls=$(($(wc -l <"$dir/scrapes-$i") * N))
  fi
  kill "${loop[$i]}" 2>/dev/null || true
  per_poll[$i]=$(awk -v c="${cpu_ms[$i]}" -v p="$done_polls" 'BEGIN {printf "%.3f", (p > 0 ? c / p : 0)}')
  thr[$i]=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
  rss[$i]=$(awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
  priv[$i]=$(awk '/^Private_(Clean|Dirty):/ {s += $2} END {printf "%.1f", s / 1024}' "/proc/$pid/smaps_rollup")
  plain[$i]=$(curl -sf --max-time 120 "127.0.0.1:${ports[$i]}/metrics" | wc -c)
  gz[$i]=$(curl -sf --max-time 120 -H 'Accept-Encoding: gzip' "127.0.0.1:${ports[$i]}/metrics" | wc -c)
  echo "${names[$i]}: cpu ${cpu_ms[$i]} ms over ${WINDOW} s for $done_polls target-polls =" \
    "${per_poll[$i]} ms/target-poll ($(awk -v c="${cpu_ms[$i]}" -v w="$WINDOW" 'BEGIN {printf "%.1f", c / w / 10}') % of a core)," \
    "threads ${thr[$i]}, RSS ${rss[$i]} MiB, private ${priv[$i]} MiB, exposition ${plain[$i]} B (gzip ${gz[$i]} B)"
done

printf 'wrk.headers["Accept-Encoding"] = "gzip"\n' >"$dir/gzip.lua"
SECONDS_=$SCRAPE_SECONDS
source bench/wrk.sh  # run_wrk
declare -A p50 p99 rps
for i in "${!procs[@]}"; do
  read -r p50[$i] p99[$i] rps[$i] < <(run_wrk "http://127.0.0.1:${ports[$i]}/metrics" -s "$dir/gzip.lua" --timeout 60s)
  echo "${names[$i]}: wrk 4 keep-alive gzip: p50 ${p50[$i]} ms, p99 ${p99[$i]} ms, ${rps[$i]} scrapes/s"
done

echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", (b > 0 ? a / b : 0)}'; }
header="| | ${names[0]}"
sep="|---|---"
for ((i = 1; i < ${#procs[@]}; i++)); do header+=" | ${names[$i]} | ratio"; sep+="|---|---"; done
echo "$header |"
echo "$sep|"
row() {  # LABEL ARRAY-NAME
  local -n a=$2
  local out="| $1 | ${a[0]}"
  for ((i = 1; i < ${#procs[@]}; i++)); do out+=" | ${a[$i]} | $(ratio "${a[$i]}" "${a[0]}")"; done
  echo "$out |"
}
row "CPU ms per target-poll" per_poll
row "threads" thr
row "private MiB" priv
row "RSS MiB" rss
row "exposition bytes (plain)" plain
row "exposition bytes (gzip)" gz
row "/metrics p50 ms, 4 gzip clients" p50
row "/metrics p99 ms, 4 gzip clients" p99
row "scrapes/s" rps
