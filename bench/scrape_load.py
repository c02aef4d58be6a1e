#!/usr/bin/python3
"""Scrapes a /metrics URL from C concurrent clients for S seconds.

  scrape_load.py URL [CONCURRENCY=4] [SECONDS=10] [PID]

Prints scrapes per second, mean and p99 latency, and (with PID) the
process's resident memory after the run. Bounded in time; loopback only.
"""
import sys
import threading
import time
import urllib.request


def main():
    url = sys.argv[1]
    conc = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 10
    pid = sys.argv[4] if len(sys.argv) > 4 else None
    if not url.startswith("http://127.0.0.1:"):
        sys.exit("scrape_load: loopback URLs only")
    latencies = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + secs

    def worker():
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
                with urllib.request.urlopen(req, timeout=10) as r:
                    r.read()
                ok = True
            except OSError:
                ok = False
            dt = time.monotonic() - t0
            with lock:
                if ok:
                    latencies.append(dt)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(conc)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    latencies.sort()
    n = len(latencies)
    rss = ""
    if pid:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = " rss=" + line.split(":", 1)[1].strip()
    if n == 0:
        print(f"no successful scrapes ({errors[0]} errors)")
        return 1
    print(f"scrapes/s={n / elapsed:.1f} mean={1000 * sum(latencies) / n:.2f}ms "
          f"p99={1000 * latencies[min(n - 1, int(n * 0.99))]:.2f}ms "
          f"errors={errors[0]} concurrency={conc}{rss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
