#!/usr/bin/python3
"""Live end to end: real asyncpg pools with a known bursty load, the agent
polling every 0.5 s, Prometheus scraping it every 5 s (longer than every
burst), then `pgconn-agent plan --from-prometheus`. Bursts shorter than the
scrape interval must be in the busy peak, and the recommendations exact.

The load (pool_worker.py, two fleets in lockstep, 4 cycles of 10 s, each
starting 1.5 s after a scrape, so that every burst is over before the next
scrape: the scraped busy count never sees one, the busy peak must):
  api   2 replicas, DB_POOL_MAX 6, DB_POOL_MIN 1: per worker one task that
        keeps a connection busy all the time, and at each cycle's start a
        burst of 3 more tasks for 1.2 s: busy 2 most of the time, 8 in the
        bursts. Plan: DB_POOL_MAX ceil(8 / 2 x 1.25) = 5, DB_POOL_MIN
        ceil(2 / 2) = 1.
  jobs  1 replica, DB_POOL_MAX 2, DB_POOL_MIN 0: a burst of 4 tasks of 1 s
        each cycle: the pool is full (saturated) for about 2 s. Plan:
        max(2 + 1, ceil(2 x 1.25)) = 3, DB_POOL_MIN 0.

Usage: plan_live_test.py AGENT_BINARY
"""
import json
import subprocess
import sys
import time

import harness
from harness import Failure, log

CYCLE = 10  # a multiple of the scrape interval: bursts keep their phase
CYCLES = 4
SCRAPE = "5s"
SCRAPE_SECONDS = 5
# Where in the scrape interval each cycle starts: the bursts (at most
# 2.1 s with the jobs' second wave) end well before the next scrape.
BURST_OFFSET = 1.5
PEAK_WINDOW = "10s"


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    binary = argv[1]
    harness.require(harness.PROMETHEUS, harness.PSQL, binary)
    started = time.monotonic()
    with harness.Stack("pgconn-plan-live-") as stack:
        pg = stack.add(harness.Postgres(stack.root, max_connections=40))
        pg.start()
        agent = stack.add(harness.Agent(
            stack.root, binary,
            f"poll_interval: 500ms\npeak_window: {PEAK_WINDOW}\n"
            "targets:\n  - name: live\n    host: 127.0.0.1\n"
            f"    port: {pg.port}\n    user: postgres\n    dbname: postgres\n"
            "    overhead: 2\n    pools:\n"
            "      - application: api\n        replicas: 2\n"
            "        pool_min: 1\n        pool_max: 6\n"
            "      - application: jobs\n        replicas: 1\n"
            "        pool_min: 0\n        pool_max: 2\n"))
        agent.wait_ready()
        prom = stack.add(harness.Prometheus(stack.root, [agent.address],
                                            scrape_interval=SCRAPE))
        prom.wait_ready()
        harness.eventually(
            "Prometheus' first scrape of the agent",
            lambda: prom.value('pgconn_up{target="live"}') == 1)
        # The window starts after that first scrape; the load starts
        # BURST_OFFSET after a later scrape (Prometheus scrapes a target at a
        # fixed phase of its interval).
        window_start = int(time.time()) + 1
        last_scrape = prom.value('timestamp(up{job="pgconn"})')
        start_at = last_scrape + BURST_OFFSET
        while start_at < window_start + 1:
            start_at += SCRAPE_SECONDS
        api_plan = [{"seconds": CYCLE, "busy": 1, "hold": 0.3, "burst": 3,
                     "burst_hold": 1.2}] * CYCLES
        jobs_plan = [{"seconds": CYCLE, "burst": 4, "hold": 1.0}] * CYCLES
        api = stack.add(harness.Workers(pg, "api", 2, 1, 6, api_plan,
                                        start_at=start_at))
        jobs = stack.add(harness.Workers(pg, "jobs", 1, 0, 2, jobs_plan,
                                         start_at=start_at))
        api_results = api.wait(timeout=CYCLE * CYCLES + 60)
        jobs_results = jobs.wait(timeout=60)
        # The last burst's peak is scraped within the peak window (10 s)
        # by a scrape every 5 s: wait for one scrape after the load.
        done = time.time()
        harness.eventually(
            "a scrape after the load",
            lambda: (prom.value('timestamp(pgconn_up{target="live"})') or 0)
            > done + 0.5, timeout=30)
        end = int(time.time())
        window = end - window_start
        scraped_max = prom.value(
            'max_over_time(pgconn_pool_busy_connections{target="live",'
            f'application="api"}}[{window}s])', time=end)
        common = [binary, "plan", f"--from-prometheus={prom.url}",
                  f"--end={end}", f"--window={window}s"]
        t0 = time.monotonic()
        res = subprocess.run(common + ["--output=json"], capture_output=True,
                             text=True, timeout=60)
        plan_seconds = time.monotonic() - t0
        if res.returncode != 0:
            raise Failure(f"plan exit {res.returncode}: {res.stderr}")
        t = json.loads(res.stdout)["targets"][0]
        apps = {a["application"]: a for a in t["applications"]}
        a, j = apps["api"], apps["jobs"]
        log(f"api: busy peak {a['busy_peak_connections']}, median "
            f"{a['busy_median_connections']}; the scraped busy count never "
            f"showed more than {scraped_max} (scrapes every {SCRAPE}, bursts "
            f"{BURST_OFFSET} s after one)")
        log(f"jobs: saturated {j['saturated_seconds']} s; workers waited "
            f"{sum(r['waits'] for r in jobs_results)} times")
        got = {
            "api busy peak": a["busy_peak_connections"],
            "api busy median": a["busy_median_connections"],
            "api recommended": (a["recommended_pool_max"],
                                a["recommended_pool_min"]),
            "api saturated": a["saturated"],
            "jobs busy peak": j["busy_peak_connections"],
            "jobs saturated": j["saturated"],
            "jobs recommended": (j["recommended_pool_max"],
                                 j["recommended_pool_min"]),
            "verdict": t["verdict"],
            "evidence complete": t["evidence_complete"],
        }
        want = {
            "api busy peak": 8, "api busy median": 2,
            "api recommended": (5, 1), "api saturated": False,
            "jobs busy peak": 2, "jobs saturated": True,
            "jobs recommended": (3, 0),
            "verdict": "ok", "evidence complete": True,
        }
        if got != want:
            raise Failure(f"plan: got {got}, want {want}\n{res.stdout}")
        if not j["saturated_seconds"] > 0:
            raise Failure(f"jobs: no saturated seconds: {j}")
        if sum(r["waits"] for r in jobs_results) == 0:
            raise Failure("the jobs workers never waited for their pool")
        # The api pools never fill up: an acquisition that took longer than
        # 10 ms opened a new connection (the first burst), it did not wait
        # for one.
        if max(r["max_wait_seconds"] for r in api_results) > 0.5:
            raise Failure(f"the api workers waited: {api_results}")
        # The scrapes saw the steady busy connections only: every burst
        # came and went between two of them. Only the agent's peak has it.
        if scraped_max != 2:
            raise Failure(f"the scraped busy count of api peaked at "
                          f"{scraped_max}, not 2: a scrape fell into a burst")

        table = subprocess.run(common, capture_output=True, text=True,
                               timeout=60)
        if table.returncode != 0:
            raise Failure(f"table exit {table.returncode}: {table.stderr}")
        print(table.stdout, flush=True)
        for line in ("api              2        6 -> 5         1 (kept)",
                     "jobs             1        2 -> 3         0 (kept)"):
            if line not in table.stdout:
                raise Failure(f"table lacks {line!r}")
        log(f"plan --from-prometheus answered in {plan_seconds:.2f} s "
            f"({len(t['evidence'])} queries)")
    log(f"PASS in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Failure as e:
        print(f"[e2e] FAIL: {e}", file=sys.stderr)
        sys.exit(1)
