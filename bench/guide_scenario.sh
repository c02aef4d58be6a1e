#!/usr/bin/env bash
# Replays the pooling guide's scenario (issue 10, "Done when") with real
# processes: PostgreSQL 15 with max_connections=100 logging to a file, the
# agent following that log (server_log:) and polling every second, a real
# Prometheus scraping the agent every 15 s and evaluating alerts/*.yml every
# 15 s, and 10 asyncpg workers x DB_POOL_MAX=10 (bench/guide_scenario.py).
#
#   bench/guide_scenario.sh        (environment: AGENT, STORM_SECONDS=60,
#                                   SPIKES=6, SPIKE=50, SPIKE_SECONDS=2,
#                                   SPIKE_EVERY=38, PEAK_WINDOW=20s)
#
# The peak window (20 s) is longer than the scrape interval (15 s), which
# is what makes every spike visible; spikes are SPIKE_EVERY apart, more than
# window + scrape, so each is judged on its own.
#
# Prints: client-side failures by SQLSTATE against the refusals the agent
# counted from the log; seconds from the first client failure until
# Prometheus shows PgconnConnectionsRefused firing; for every 2 s spike
# whether any 15 s scrape saw it in pgconn_used_connections (current) and in
# pgconn_used_connections_peak. Not a test: gates nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
agent=${AGENT:-$root/build/pgconn-agent}
bindir=${PGCONN_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
work=$(mktemp -d /tmp/pgconn-guide.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ -f $work/data/postmaster.pid ]]; then
    runuser -u postgres -- "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pg_port=$(free_port); agent_port=$(free_port); prom_port=$(free_port)

as_pg() { if [[ $(id -u) == 0 ]]; then chown -R postgres "$work"; runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$bindir/initdb" -D "$work/data" -A trust -U postgres --no-sync >/dev/null
cat >>"$work/data/postgresql.auto.conf" <<CONF
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
max_connections = 100
superuser_reserved_connections = 3
logging_collector = on
log_destination = 'stderr'
log_directory = 'log'
log_filename = 'postgresql.log'
log_line_prefix = '%m [%p] %q%u@%d '
lc_messages = 'C'
fsync = off
CONF
as_pg "$bindir/pg_ctl" -D "$work/data" -l "$work/pg.out" -w start >/dev/null
"$bindir/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE ROLE app LOGIN" postgres

cat >"$work/agent.yml" <<YML
poll_interval: 1s
peak_window: ${PEAK_WINDOW:-20s}
targets:
  - name: guide
    url: postgresql://postgres@127.0.0.1:$pg_port/postgres
    server_log:
      path: $work/data/log/postgresql.log
      format: stderr
YML
"$agent" --config.file="$work/agent.yml" --web.listen-address="127.0.0.1:$agent_port" \
  2>"$work/agent.log" &
pids+=($!)

cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
$(for f in "$root"/alerts/*.yml; do echo "  - $f"; done)
scrape_configs:
  - job_name: pgconn
    static_configs:
      - targets: ['127.0.0.1:$agent_port']
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$agent_port/metrics" | grep -q '^pgconn_server_log_up{target="guide"} 1' && break
  sleep 0.2
done
# Let Prometheus take a few scrapes of the calm server first.
sleep 35

DSN="postgresql://app@127.0.0.1:$pg_port/postgres" /usr/bin/python3 \
  bench/guide_scenario.py >"$work/client.json"
sleep 20  # two more scrapes after the last spike

/usr/bin/python3 - "$work/client.json" "http://127.0.0.1:$agent_port/metrics" \
  "http://127.0.0.1:$prom_port" <<'PY'
import json, sys, urllib.parse, urllib.request
client = json.load(open(sys.argv[1]))
metrics = urllib.request.urlopen(sys.argv[2]).read().decode()
prom = sys.argv[3]
def q(path, **params):
    url = prom + path + "?" + urllib.parse.urlencode(params)
    return json.load(urllib.request.urlopen(url))["data"]
counted = {}
for line in metrics.splitlines():
    if line.startswith("pgconn_connections_refused_total{"):
        reason = line.split('reason="')[1].split('"')[0]
        counted[reason] = int(float(line.rsplit(" ", 1)[1]))
slot = sum(counted.get(r, 0) for r in
           ("max_connections", "reserved_slots", "database_limit", "role_limit"))
fails = client["client_failures"]
print("client-side failures by SQLSTATE:", fails)
print("refusals counted from the log:   ", {k: v for k, v in counted.items() if v})
print(f"53300 failures {fails.get('53300', 0)} vs slot refusals counted {slot}:",
      "EQUAL" if fails.get("53300", 0) == slot else "DIFFERENT")
# When did Prometheus first evaluate PgconnConnectionsRefused as firing?
first = client["first_failure"]
if first:
    r = q("/api/v1/query_range", query='ALERTS{alertname="PgconnConnectionsRefused",alertstate="firing"}',
          start=first - 30, end=client["storm_end"] + 60, step=1)
    ts = [float(v[0]) for s in r["result"] for v in s["values"]]
    if ts:
        print(f"PgconnConnectionsRefused firing {min(ts) - first:.1f} s after the first client failure")
    else:
        print("PgconnConnectionsRefused never fired")
# Every spike: did any scrape see it?
base = q("/api/v1/query", query='min_over_time(pgconn_used_connections{target="guide"}[10m])',
         time=client["spikes"][0]["start"])["result"]
baseline = float(base[0]["value"][1]) if base else 0
seen_cur = seen_peak = 0
for s in client["spikes"]:
    want = baseline + s["opened"]
    def max_in(expr, end):
        r = q("/api/v1/query_range", query=expr, start=s["start"], end=end, step=1)
        vals = [float(v[1]) for x in r["result"] for v in x["values"]]
        return max(vals) if vals else 0
    cur = max_in('pgconn_used_connections{target="guide"}', s["end"] + 15)
    peak = max_in('pgconn_used_connections_peak{target="guide"}', s["end"] + 15)
    seen_cur += cur >= want
    seen_peak += peak >= want
    print(f"spike of {s['opened']} at +{s['start'] - client['storm_start']:.0f} s: "
          f"current max {cur:.0f}, peak max {peak:.0f} (baseline {baseline:.0f})")
n = len(client["spikes"])
print(f"spikes seen by a 15 s scrape: current {seen_cur}/{n}, peak {seen_peak}/{n}")
PY
