#!/usr/bin/env bash
# Builds and runs pgconn-agent in the foreground.
#
#   scripts/run-agent.sh [agent flags...]
#
# When no database is configured (no --config.file flag and none of
# DATABASE_URL, DB_HOST, PGHOST in the environment), it first starts a
# throwaway PostgreSQL on a free local port, with a few demo sessions, so that
# metrics appear at once; it is stopped and deleted when the agent exits.
# It prints the address the agent really listens on, read from the agent's
# own "listening" log line (so --web.listen-address, PGCONN_WEB_LISTEN_ADDRESS,
# the configuration file and port 0 are all taken into account).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target pgconn-agent
agent=$PWD/build/pgconn-agent

# Copies the agent's log (stdin) to stderr and, at its "listening" line
# (logfmt or JSON), prints where the metrics are.
announce_address() {
  local line addr host
  while IFS= read -r line; do
    printf '%s\n' "$line" >&2
    [[ $line == *listening* ]] || continue
    if [[ $line =~ address=\"?([^\"[:space:]]+) ]] ||
      [[ $line =~ \"address\":\"([^\"]+)\" ]]; then
      addr=${BASH_REMATCH[1]}
      host=${addr%:*}
      case "$host" in
        0.0.0.0 | "" | "[::]" | "::") host=localhost ;;
        \[*) ;;
        *:*) host="[$host]" ;;  # a bare IPv6 address
      esac
      echo "run-agent: status page at http://$host:${addr##*:}/, metrics at http://$host:${addr##*:}/metrics"
    fi
  done
}

# Runs the agent in the foreground of this script, its log through
# announce_address; INT and TERM stop it, and its exit status is ours.
run_agent() {
  "$agent" "$@" 2> >(announce_address) &
  agent_pid=$!
  trap 'kill -TERM $agent_pid 2>/dev/null || true' INT TERM
  local status=0
  while kill -0 "$agent_pid" 2>/dev/null; do
    wait "$agent_pid" && status=0 || status=$?
  done
  return "$status"
}

configured=false
for arg in "$@"; do
  case "$arg" in --config.file*) configured=true ;; esac
done
for var in DATABASE_URL DB_HOST PGHOST; do
  [[ -n "${!var:-}" ]] && configured=true
done
if $configured; then
  status=0
  run_agent "$@" || status=$?
  exit "$status"
fi

# A throwaway PostgreSQL. PostgreSQL refuses to run as root, so as root it
# runs as the `postgres` user that the Debian package creates.
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/pgconn-demo-XXXXXX)
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres "$dir"
  as_owner=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
demo_pids=()
cleanup() {
  for p in "${demo_pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "run-agent: no database configured; starting a throwaway PostgreSQL on 127.0.0.1:$port ($dir)"
"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=50" start >/dev/null

# Demo sessions: idle pool connections of two applications, one busy query
# and one transaction left open, as a worker fleet would hold them.
# Each runs in a session of its own so that cleanup can end the whole group.
psql_demo() {
  PGAPPNAME=$1 setsid bash -c '(printf "%s\n" "$0"; exec sleep 86400) |
    psql -q -h 127.0.0.1 -p "$1" -U postgres -d postgres' "$2" "$port" \
    >/dev/null 2>&1 &
  demo_pids+=($!)
}
for _ in 1 2 3 4; do psql_demo demo-worker "SELECT 1;"; done
for _ in 1 2; do psql_demo demo-bot "SELECT 1;"; done
psql_demo demo-worker "SELECT pg_sleep(86400);"
psql_demo demo-interface "BEGIN; SELECT 1;"

export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
export PGCONN_TARGET_NAME=${PGCONN_TARGET_NAME:-demo}
echo "run-agent: Ctrl-C stops the agent and the database"
status=0
run_agent "$@" || status=$?
exit "$status"
