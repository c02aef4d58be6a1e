#!/usr/bin/env bash
# The agent's own CPU per poll, two builds side by side: both agents poll
# the same throwaway server, at the same time, with N idle client backends
# under NAMES distinct application names.
#
#   bench/poll_thread_cpu.sh AGENT_A AGENT_B [N=1000] [NAMES=500] [ROUNDS=5] [WINDOW=20]
#   bench/poll_thread_cpu.sh AGENT_A AGENT_B 5000 5000 3 20   # the large case
#
# 5,000 backends need about 8.5 GB (checked first); hold_connections.py
# opens them 32 at a time.
# AGENT_A is the baseline (an older build), AGENT_B the candidate. Both poll
# every 0.5 s. For ROUNDS windows of WINDOW seconds each the script reads,
# per agent, the CPU time (/proc/PID/task/TID/schedstat, nanoseconds) of
# its poll thread (the thread that used the most CPU in the window: the
# HTTP thread only serves this script's two scrapes a window) and of the
# whole process, and divides by the polls the agent counted
# (pgconn_polls_total) in that window. Prints one row per round and the
# medians, with the ratio B / A. The rounds start once every held session is
# older than the scan's margin for new sessions (130 s by default), as in a
# steady state; STORM=1 measures right away, every session still possibly
# new. Not a test: prints numbers, gates nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1:?baseline agent binary}
B=${2:?candidate agent binary}
N=${3:-1000}
NAMES=${4:-500}
ROUNDS=${5:-5}
WINDOW=${6:-20}

source bench/lib.sh
bench_need_memory "$N"
"$python" -c 'import asyncpg' || { echo "install python3-asyncpg" >&2; exit 1; }

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
bench_postgres -c max_connections=$((N + 50))

coproc HOLD { exec nice "$python" bench/hold_connections.py "$port" "$N"; }
pids+=("$HOLD_PID")
read -r reply <&"${HOLD[0]}"
opened_at=$(date +%s)
[[ $reply == "open $N" ]] || { echo "holder: $reply" >&2; exit 1; }
echo "names $NAMES" >&"${HOLD[1]}"
read -r reply <&"${HOLD[0]}"

start_agent() {  # binary port; sets agent_pid
  DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres" \
    "$1" --web.listen-address="127.0.0.1:$2" --poll.interval=500ms --log.level=warn \
    >/dev/null 2>&1 </dev/null &
  agent_pid=$!
  pids+=("$agent_pid")
}
metric() {  # port name
  local body
  body=$(curl -s "127.0.0.1:$1/metrics" || true)
  awk -v m="$2" '$1 ~ "^"m"({|$)" {print $2; exit}' <<<"$body"
}
# CPU nanoseconds per thread of process $1: "tid ns" lines.
threads_ns() {
  for t in /proc/"$1"/task/*; do
    echo "${t##*/} $(cut -d' ' -f1 "$t/schedstat" 2>/dev/null || echo 0)"
  done
}
aport=$(free_port)
start_agent "$A" "$aport"
apid=$agent_pid
bport=$(free_port)
start_agent "$B" "$bport"
bpid=$agent_pid
for p in "$aport" "$bport"; do
  until [[ $(metric "$p" pgconn_up) == 1 ]]; do sleep 0.2; done
done
sleep 3  # a few polls with the names in place
# The scan sends the identities of client backends that may be new (started
# after the previous scan less 2 x authentication_timeout + 10 s): in a
# steady state none, right after the N sessions opened all of them. The
# rounds measure the steady state unless STORM=1.
if [[ ${STORM:-0} != 1 ]]; then
  margin=$(psql -X -At -h 127.0.0.1 -p "$port" -U postgres -d postgres -c \
    "SELECT ceil(2 * extract(epoch FROM current_setting('authentication_timeout')::interval) + 10)")
  wait_s=$((opened_at + margin + 3 - $(date +%s)))
  if ((wait_s > 0)); then
    echo "waiting ${wait_s} s until every held session is older than the ${margin} s margin (STORM=1 skips this)"
    sleep "$wait_s"
  fi
fi
echo "backends: $(psql -X -At -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"), names: $NAMES"

# Per agent and window: "poll_thread_ms_per_poll process_ms_per_poll polls".
measure() {  # pid port before-file after-file polls-before polls-after
  awk -v p0="$5" -v p1="$6" '
    FNR == NR { before[$1] = $2; next }
    { d = $2 - before[$1]; total += d; if (d > best) best = d }
    END { polls = p1 - p0; printf "%.3f %.3f %d\n", best / 1e6 / polls, total / 1e6 / polls, polls }' "$3" "$4"
}
printf '\n| round | A poll thread, ms/poll | B poll thread, ms/poll | ratio B / A | A process, ms/poll | B process, ms/poll | ratio B / A | polls A / B |\n'
printf '|---|---|---|---|---|---|---|---|\n'
: >"$dir/rows"
for ((r = 1; r <= ROUNDS; r++)); do
  pa0=$(metric "$aport" pgconn_polls_total); pb0=$(metric "$bport" pgconn_polls_total)
  threads_ns "$apid" >"$dir/a0"; threads_ns "$bpid" >"$dir/b0"
  sleep "$WINDOW"
  threads_ns "$apid" >"$dir/a1"; threads_ns "$bpid" >"$dir/b1"
  pa1=$(metric "$aport" pgconn_polls_total); pb1=$(metric "$bport" pgconn_polls_total)
  read -r at ap an < <(measure "$apid" "$aport" "$dir/a0" "$dir/a1" "$pa0" "$pa1")
  read -r bt bp bn < <(measure "$bpid" "$bport" "$dir/b0" "$dir/b1" "$pb0" "$pb1")
  echo "$at $bt $ap $bp" >>"$dir/rows"
  printf '| %d | %s | %s | %s | %s | %s | %s | %s / %s |\n' "$r" "$at" "$bt" \
    "$(awk -v a="$at" -v b="$bt" 'BEGIN {printf "%.2f", b / a}')" "$ap" "$bp" \
    "$(awk -v a="$ap" -v b="$bp" 'BEGIN {printf "%.2f", b / a}')" "$an" "$bn"
done
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ma=$(cut -d' ' -f1 "$dir/rows" | median); mb=$(cut -d' ' -f2 "$dir/rows" | median)
pa=$(cut -d' ' -f3 "$dir/rows" | median); pb=$(cut -d' ' -f4 "$dir/rows" | median)
ratios=$(awk '{printf "%.2f\n", $2 / $1}' "$dir/rows" | sort -g | paste -sd' ')
printf '| median | %s | %s | %s | %s | %s | %s | |\n' "$ma" "$mb" \
  "$(awk -v a="$ma" -v b="$mb" 'BEGIN {printf "%.2f", b / a}')" "$pa" "$pb" \
  "$(awk -v a="$pa" -v b="$pb" 'BEGIN {printf "%.2f", b / a}')"
echo
echo "poll-thread ratios B / A, per round, sorted: $ratios"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
