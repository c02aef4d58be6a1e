# Sourced by the bench scripts (poll_cost.sh, poll_thread_cpu.sh,
# http_scrape.sh): a throwaway PostgreSQL in a temporary directory on a free
# loopback port, stopped and removed when the script exits.
#
#   bench_need_memory N           fails early when N idle backends will not fit
#   bench_postgres [-c name=value ...]
#                                 initdb + start; sets bindir, dir, port,
#                                 as_owner (runuser when root) and pids (the
#                                 script adds its own processes, killed at exit)

python=${python:-/usr/bin/python3}  # Debian's, which has python3-asyncpg

bench_need_memory() {  # N: each idle backend costs about 1.6 MB here
  local need_mb=$(($1 * 16 / 10 + 512)) avail_mb
  avail_mb=$(awk '/^MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
  echo "needs about $need_mb MB for $1 backends (1.6 MB each + 512 MB); $avail_mb MB available"
  ((avail_mb >= need_mb)) || { echo "not enough memory for $1 backends" >&2; exit 1; }
}

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

bench_postgres() {  # extra server options, e.g. -c max_connections=1050
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  dir=$(mktemp -d /tmp/pgconn-bench-XXXXXX)
  as_owner=()
  if [[ $(id -u) -eq 0 ]]; then chown postgres "$dir"; as_owner=(runuser -u postgres --); fi
  port=$(free_port)
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 143' TERM INT  # so that a killed script still cleans up
  "${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
    "-p $port -c listen_addresses=127.0.0.1 -k $dir $*" start >/dev/null
}
