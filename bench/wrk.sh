# Sourced by the benchmarks: run_wrk URL [wrk args...] runs wrk on 4
# keep-alive connections (2 threads) for SECONDS_ seconds and prints
# "p50 p99 scrapes/s", latencies in ms.
run_wrk() {
  local url=$1; shift
  wrk -t2 -c4 -d"${SECONDS_}s" --latency "$@" "$url" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    END { printf "%.3f %.3f %.0f\n", p50, p99, rps }'
}
