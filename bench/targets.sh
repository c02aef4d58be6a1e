#!/usr/bin/env bash
# Cost per target of one agent polling 1, 50 and 200 targets, all of them
# pointing at one throwaway PostgreSQL on this machine.
#
#   bench/targets.sh [COUNTS="1 50 200"] [STEADY_SECONDS=15]
#
#   environment: AGENT=path/to/pgconn-agent (default build/pgconn-agent,
#                built if missing), COUNTS, STEADY_SECONDS, RUNS=5, WARMUP=1,
#                POLL_INTERVAL_SECONDS=1 (the steady phase's poll interval:
#                at 1 s, 200 targets on one 2-core server keep that server
#                saturated, which starves the agent's scrapes too)
#                (the arguments win over the environment)
#
# For every target count N it writes a configuration with N targets (unique
# names, same server) and measures the whole agent process two ways:
#
#   once:   `pgconn-agent --once` (start, connect, poll every target once,
#           print the exposition, exit); WARMUP runs discarded, then RUNS
#           runs. Median agent CPU (user + sys) and median wall time, each
#           divided by N. Also shown: the CPU of the server's backends.
#   steady: the agent serving /metrics and polling every second. Once every
#           target is up, STEADY_SECONDS of one scrape per second over one
#           kept-alive HTTP/1.1 connection asking for gzip. Agent CPU from
#           /proc/PID/stat across the window divided by the polls made in it
#           (sum of pgconn_polls_total), median scrape latency, and the
#           exposition size, plain and gzip.
#
# PostgreSQL gets max_connections = largest count + 20. The measuring is done
# by bench/targets_client.py. Prints raw numbers per count, then one markdown
# table with ratios against the smallest count: a per-target cost that stays
# flat as N grows means the agent scales linearly. How busy the machine was
# is printed too; wall times mean little on a loaded machine. Needs the
# packages of scripts/debian-packages.txt. Not a test: gates nothing.
set -euo pipefail
agent=${AGENT:-}
if [[ -n $agent && $agent != /* ]]; then agent=$PWD/$agent; fi
cd "$(dirname "$0")/.."
COUNTS=${1:-${COUNTS:-1 50 200}}
STEADY_SECONDS=${2:-${STEADY_SECONDS:-15}}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}

if [[ -z $agent ]]; then
  agent=$PWD/build/pgconn-agent
  [[ -x $agent ]] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build build -j"$(nproc)" --target pgconn-agent; }
fi
[[ -x $agent ]] || { echo "targets.sh: no agent binary at $agent" >&2; exit 1; }

read -ra counts <<<"$COUNTS"
max=0
for n in "${counts[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "targets.sh: bad target count '$n'" >&2; exit 2; }
  ((n > max)) && max=$n
done
[[ $STEADY_SECONDS =~ ^[1-9][0-9]*$ ]] || { echo "targets.sh: bad STEADY_SECONDS '$STEADY_SECONDS'" >&2; exit 2; }

bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/pgconn-bench-XXXXXX)
as_owner=()
if [[ $(id -u) -eq 0 ]]; then chown postgres "$dir"; as_owner=(runuser -u postgres --); fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
cleanup() {
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

# One backend per target, plus room for psql and the stragglers of the
# previous agent.
"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
  "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=$((max + 20))" start >/dev/null
pg_pid=$(head -n 1 "$dir/data/postmaster.pid")
psql_() { psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }

echo "agent: $agent ($("$agent" --version))"
echo "PostgreSQL $(psql_ -At -c 'SHOW server_version'), max_connections $(psql_ -At -c 'SHOW max_connections')," \
  "$(nproc) cores, counts: ${counts[*]}, once: $WARMUP warm-up + $RUNS runs, steady: $STEADY_SECONDS s"

write_config() { # N FILE
  {
    echo "poll_interval: ${POLL_INTERVAL_SECONDS:-1}s"
    echo "log_level: info"
    echo "targets:"
    for ((i = 1; i <= $1; i++)); do
      printf '  - name: t%04d\n    url: postgresql://postgres@127.0.0.1:%s/postgres\n' "$i" "$port"
    done
  } >"$2"
}

client=bench/targets_client.py
results=$dir/results.jsonl
for n in "${counts[@]}"; do
  config=$dir/targets-$n.yaml
  write_config "$n" "$config"
  once=$("$client" once "$agent" "$config" "$n" "$RUNS" "$WARMUP" "$dir" "$port" "$pg_pid")
  steady=$("$client" steady "$agent" "$config" "$n" "$STEADY_SECONDS" "$dir" "$port")
  echo "{\"n\": $n, \"once\": $once, \"steady\": $steady}" >>"$results"
  echo
  "$client" detail "$results"
done

echo
"$client" table "$results"
