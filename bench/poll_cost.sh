#!/usr/bin/env bash
# The cost of pgconn's poll at N client backends, against its anchors run
# side by side on the same throwaway server: the bare aggregate
# (SELECT application_name, state, count(*) FROM pg_stat_activity GROUP BY
# 1,2) and postgres_exporter (Debian's prometheus-postgres-exporter).
#
#   bench/poll_cost.sh [N=400] [WINDOW=20] [SOAK=120]
#
# N idle connections are held by bench/hold_connections.py (python3-asyncpg)
# and renamed between measurements, so that one run gives:
#   - per number of distinct application names (10, 50, 500 and N): the
#     server time (planning + execution, pg_stat_statements) of the agent's
#     scan statement and of the bare aggregate, both run once a second during
#     the same WINDOW seconds, their ratio, the psql \timing of the
#     aggregate, the poll duration the agent reports, the CPU share of the
#     agent's backend (/proc/PID/stat utime+stime over wall time) and the
#     statements per poll;
#   - the agent's RSS and CPU over SOAK seconds of 1 s polling;
#   - in the same rows, as wall times of a client: the poll the agent reports
#     and the agent's batch replayed by psql (prepared once, then sent as
#     one query, as the agent sends it) against psql's \timing of the bare
#     aggregate; and postgres_exporter's pg_stat_activity statement (the
#     exporter scraped once a second in the same window), its server time
#     against the bare aggregate's;
#   - postgres_exporter scraped once a second for WINDOW seconds: scrape
#     duration, server time and statements per scrape.
# The rows after the first wait until every held session is older than the
# scan's margin for new sessions (2 x authentication_timeout + 10 s, 130 s
# by default), as in a steady state; the first row, at 500 names, is taken
# before that, while every session still counts as possibly new (the cost
# of a connection storm). Prints the machine's load average at the start and
# the end. Not a test:
# prints numbers, gates nothing. Scrape throughput: bench/http_scrape.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-400}
WINDOW=${2:-20}
SOAK=${3:-120}

# Each idle backend costs about 1.6 MB here (measured below, printed again).
source bench/lib.sh
bench_need_memory "$N"

agent=${AGENT:-build/pgconn-agent}  # AGENT=path measures another build
[[ -x $agent ]] || { cmake -S . -B build >/dev/null && cmake --build build -j"$(nproc)" --target pgconn-agent; }
exporter=/usr/bin/prometheus-postgres-exporter
[[ -x $exporter ]] || { echo "install prometheus-postgres-exporter for the baseline" >&2; exit 1; }
"$python" -c 'import asyncpg' || { echo "install python3-asyncpg" >&2; exit 1; }

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
bench_postgres -c max_connections=$((N + 50)) \
  -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all \
  -c pg_stat_statements.track_planning=on
# Every statement of this script carries /* bench */, which tells it apart
# in pg_stat_statements from the agent's and the exporter's.
psql_() { psql -X -q -At -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }
psql_ -c "/* bench */ CREATE EXTENSION pg_stat_statements"
# The agent and the exporter under roles of their own, so that
# pg_stat_statements tells their statements apart from the replay's (same
# text, same query id); the agent's statements are logged, for the replay.
psql_ -c "/* bench */ CREATE ROLE bench_agent LOGIN SUPERUSER" \
  -c "/* bench */ ALTER ROLE bench_agent SET log_statement = 'all'" \
  -c "/* bench */ CREATE ROLE bench_exporter LOGIN SUPERUSER"

echo "opening $N idle connections..."
before_mb=$(awk '/^MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
coproc HOLD { exec nice "$python" bench/hold_connections.py "$port" "$N"; }
pids+=("$HOLD_PID")
read -r reply <&"${HOLD[0]}"
opened_at=$(date +%s)
[[ $reply == "open $N" ]] || { echo "holder: $reply" >&2; exit 1; }
after_mb=$(awk '/^MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
echo "backends: $(psql_ -c "/* bench */ SELECT count(*) FROM pg_stat_activity");" \
  "memory taken: $((before_mb - after_mb)) MB," \
  "$(awk -v m=$((before_mb - after_mb)) -v n="$N" 'BEGIN {printf "%.2f", m / n}') MB per backend (holder included)"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

aport=$(free_port)
DATABASE_URL="postgresql://bench_agent@127.0.0.1:$port/postgres" \
  "$agent" --web.listen-address=127.0.0.1:$aport --poll.interval=1s --log.level=warn \
  >/dev/null 2>&1 </dev/null &
agent_pid=$!
pids+=("$agent_pid")
metric() {
  local body
  body=$(curl -s "127.0.0.1:$aport/metrics" || true)
  awk -v m="$1" '$1 ~ "^"m"({|$)" {print $2; exit}' <<<"$body"
}
until [[ $(metric pgconn_up) == 1 ]]; do sleep 0.2; done
backend=$(psql_ -c "/* bench */ SELECT pid FROM pg_stat_activity WHERE application_name = 'pgconn-agent'")
exporter_url() { echo "postgresql://bench_exporter@127.0.0.1:$port/postgres?sslmode=disable"; }
eport=$(free_port)
DATA_SOURCE_NAME=$(exporter_url) \
  "$exporter" --web.listen-address=127.0.0.1:$eport >/dev/null 2>&1 </dev/null &
pids+=($!)
until curl -sf "127.0.0.1:$eport/metrics" >/dev/null; do sleep 0.2; done

# The agent's batch as it sent it (the server log): its PREPAREs, sent
# once, and the last poll's batch of EXECUTEs, replayed as one query
# (statements joined by psql's \;).
replay_script() {
  "$python" - "$dir/server.log" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
entries = re.split(r"^(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text, flags=re.M)
statements = [e.split("statement: ", 1)[1] for e in entries if "statement: " in e]
prepare = [s for s in statements if "PREPARE pgconn_" in s][-1]
batch = [s for s in statements if "EXECUTE pgconn_" in s and "pgconn:activity" in s][-1]
for text in (prepare, batch):  # each as one line, one query
    parts = [p.strip() for p in text.strip().split(";\n") if p.strip()]
    print(" \\; ".join(p.rstrip(";") for p in parts) + ";")
PY
}

bare="/* bench */ SELECT application_name, state, count(*) FROM pg_stat_activity GROUP BY 1,2"
server_ms() {  # mean planning + execution time of role $2's statements matching $1
  psql_ -c "/* bench */ SELECT round((sum(total_plan_time + total_exec_time) / nullif(sum(calls), 0))::numeric, 2)
            FROM pg_stat_statements WHERE query LIKE '$1' AND userid = '${2:-postgres}'::regrole"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

printf '\n| backends | names | pgconn scan (server) | whole poll (server) | bare aggregate (server) | ratio scan / bare | ratio poll / bare | bare, psql \\timing | pgconn poll duration | replayed batch, psql \\timing | ratio poll / bare (wall) | ratio replay / bare (wall) | postgres_exporter pg_stat_activity (server) | ratio exporter / bare | agent backend CPU | statements/poll |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
# One row: the held sessions under `names` names, `label` in the first
# column.
measure_row() {
  local names=$1 label=$2
  echo "names $names" >&"${HOLD[1]}"
  read -r reply <&"${HOLD[0]}"
  sleep 2  # a poll with the new names
  replay_script >"$dir/replay.sql"
  psql_ -c "/* bench */ SELECT pg_stat_statements_reset()" >/dev/null
  t0=$(date +%s.%N)
  c0=$(ticks "$backend")
  # Per second: the bare aggregate, then the replayed batch (its PREPAREs
  # first, untimed).
  { head -n 1 "$dir/replay.sql"; echo '\timing on'
    for ((i = 0; i < WINDOW; i++)); do
      echo "$bare;"; tail -n 1 "$dir/replay.sql"; echo "/* bench */ SELECT pg_sleep(1);"
    done; } |
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -o /dev/null 2>&1 |
    grep -o 'Time: [0-9.]*' | awk '{print $2}' >"$dir/timing" &
  psql_pid=$!
  durations=()
  for ((i = 0; i < WINDOW; i++)); do
    durations+=("$(metric pgconn_poll_duration_seconds)")
    curl -s -o /dev/null "127.0.0.1:$eport/metrics"
    sleep 1
  done
  wait "$psql_pid"
  c1=$(ticks "$backend")
  t1=$(date +%s.%N)
  (($(wc -l <"$dir/timing") == 3 * WINDOW)) || { echo "replay: $(wc -l <"$dir/timing") timings, expected $((3 * WINDOW))" >&2; exit 1; }
  scan=$(server_ms '%pg_stat_get_activity(NULL)%' bench_agent)
  base=$(server_ms '/* bench */ SELECT application_name%')
  exp_activity=$(server_ms '%pg_stat_activity%' bench_exporter)
  # Every statement of the agent's polls (the scan, sessions, settings, the
  # server clock reads), planning included, per poll.
  read -r stmts agent_ms < <(psql_ -F ' ' -c "/* bench */ SELECT sum(calls), sum(total_plan_time + total_exec_time)
    FROM pg_stat_statements WHERE userid = 'bench_agent'::regrole")
  # Per poll: the scan runs exactly once per poll (the polls_total samples
  # at the window's edges could be off by one).
  scans=$(psql_ -c "/* bench */ SELECT sum(calls) FROM pg_stat_statements WHERE query LIKE '%pg_stat_get_activity(NULL)%' AND userid = 'bench_agent'::regrole")
  poll_ms=$(ratio "$agent_ms" "$scans")
  bare_wall=$(awk 'NR % 3 == 1' "$dir/timing" | median)
  replay_wall=$(awk 'NR % 3 == 2' "$dir/timing" | median)
  poll_wall=$(printf '%s\n' "${durations[@]}" | median | awk '{printf "%.1f", $1 * 1000}')
  printf '| %s | %s | %s ms | %s ms | %s ms | %s | %s | %s ms | %s ms | %s ms | %s | %s | %s ms | %s | %s %% | %s |\n' "$label" "$names" "$scan" "$poll_ms" "$base" \
    "$(ratio "$scan" "$base")" "$(ratio "$poll_ms" "$base")" \
    "$bare_wall" "$poll_wall" "$replay_wall" \
    "$(ratio "$poll_wall" "$bare_wall")" "$(ratio "$replay_wall" "$bare_wall")" \
    "$exp_activity" "$(ratio "$exp_activity" "$base")" \
    "$(awk -v c=$((c1 - c0)) -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.1f", 100 * c / hz / (t1 - t0)}')" \
    "$(ratio "$stmts" "$scans" | awk '{printf "%.1f", $1}')"
}
# The scan sends the identities of the client backends that may be new
# (started after the previous scan, less a margin of 2 x
# authentication_timeout + 10 s): right after the N sessions opened, every
# one of them; in a steady state, none. One row measures that storm, the
# others the steady state, once every held session is older than the margin.
margin=$(psql_ -c "/* bench */ SELECT ceil(2 * extract(epoch FROM current_setting('authentication_timeout')::interval) + 10)")
if ((N >= 500)); then measure_row 500 "$N, all opened < ${margin} s ago"; fi
wait_s=$((opened_at + margin + 3 - $(date +%s)))
if ((wait_s > 0)); then
  echo "waiting ${wait_s} s until every held session is older than the ${margin} s margin..." >&2
  sleep "$wait_s"
fi
for names in 10 50 500 "$N"; do
  ((names <= N)) || continue
  measure_row "$names" "$N"
done

# Soak: the agent process itself over SOAK seconds of 1 s polling.
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
rss0=$(rss "$agent_pid")
a0=$(ticks "$agent_pid")
t0=$(date +%s.%N)
rss_max=$rss0
for ((i = 0; i < SOAK; i += 5)); do
  sleep 5
  r=$(rss "$agent_pid")
  rss_max=$(awk -v a="$r" -v b="$rss_max" 'BEGIN {print (a > b) ? a : b}')
done
a1=$(ticks "$agent_pid")
t1=$(date +%s.%N)
echo
echo "agent soak, ${SOAK} s at 1 s polling, $N backends, $names names: RSS $rss0 MB at start, $(rss "$agent_pid") MB at end, $rss_max MB max;" \
  "CPU $(awk -v c=$((a1 - a0)) -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.2f", 100 * c / hz / (t1 - t0)}') % of a core"
# Scrapes as Prometheus makes them (kept-alive connections, gzip asked):
# wrk, 4 connections, WINDOW seconds per row; postgres_exporter's below.
SECONDS_=$WINDOW
source bench/wrk.sh  # run_wrk
printf 'wrk.headers["Accept-Encoding"] = "gzip"\n' >"$dir/gzip.lua"
read -r ap50 ap99 arps < <(run_wrk "http://127.0.0.1:$aport/metrics")
read -r gp50 gp99 grps < <(run_wrk "http://127.0.0.1:$aport/metrics" -s "$dir/gzip.lua")
kill "$agent_pid"
wait "$agent_pid" 2>/dev/null || true

# postgres_exporter, scraped once a second (its cost is per scrape).
echo "names 10" >&"${HOLD[1]}"
read -r reply <&"${HOLD[0]}"
psql_ -c "/* bench */ SELECT pg_stat_statements_reset()" >/dev/null
times=()
for ((i = 0; i < WINDOW; i++)); do
  times+=("$(curl -s -o /dev/null -w '%{time_total}' "127.0.0.1:$eport/metrics")")
  sleep 1
done
read -r exp_calls exp_ms < <(psql_ -F ' ' -c "/* bench */ SELECT sum(calls), round(sum(total_plan_time + total_exec_time)::numeric, 1)
  FROM pg_stat_statements WHERE userid = 'bench_exporter'::regrole")
echo "postgres_exporter $($exporter --version 2>&1 | head -n 1 | awk '{print $3}'), $N backends, 10 names, $WINDOW scrapes:" \
  "scrape $(printf '%s\n' "${times[@]}" | median | awk '{printf "%.1f", $1 * 1000}') ms (median)," \
  "server time $(awk -v s="$exp_ms" -v n="$WINDOW" 'BEGIN {printf "%.1f", s / n}') ms per scrape," \
  "$(awk -v s="$exp_calls" -v n="$WINDOW" 'BEGIN {printf "%.1f", s / n}') statements per scrape"
# postgres_exporter queries the database at every scrape.
read -r ep50 ep99 erps < <(run_wrk "http://127.0.0.1:$eport/metrics")
read -r fp50 fp99 frps < <(run_wrk "http://127.0.0.1:$eport/metrics" -s "$dir/gzip.lua")
echo
echo "| scrapes, wrk 4 keep-alive, $N backends | pgconn p50 / p99 ms | pgconn scrapes/s | postgres_exporter p50 / p99 ms | postgres_exporter scrapes/s |"
echo "|---|---|---|---|---|"
echo "| plain | $ap50 / $ap99 | $arps | $ep50 / $ep99 | $erps |"
echo "| gzip | $gp50 / $gp99 | $grps | $fp50 / $fp99 | $frps |"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
