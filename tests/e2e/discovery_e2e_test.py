#!/usr/bin/python3
"""A real Prometheus finds pgconn's targets through GET /discovery.

The agent watches two targets: `main`, a real PostgreSQL, and `gone`, a
port nothing listens on. Prometheus has one job with nothing but
  http_sd_configs: [{url: http://127.0.0.1:AGENT/discovery}]
(no relabelling, no metrics_path) and one more with honor_labels: true
(the configuration dashboards/prometheus-discovery.example.yml recommends).
The test waits until, in each job, every target is scraped through
/probe?target=NAME with its own `up` (1: the scrape worked) and its own
pgconn_up (1 for main, 0 for gone); then it adds a target `replica` to the
agent's file, sends SIGHUP, and waits for Prometheus to pick it up.

Usage: discovery_e2e_test.py AGENT_BINARY SOURCE_DIR
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as e2e  # noqa: E402  (PostgreSQL, Prometheus, helpers)

Failure = e2e.Failure


def log(msg):
    print(f"[discovery] {msg}", flush=True)


def write_agent_config(path, pg_port, gone_port, with_replica):
    text = ("poll_interval: 500ms\nconnect_timeout: 1s\nbackoff_max: 1s\n"
            "targets:\n"
            f"  - name: main\n    host: 127.0.0.1\n    port: {pg_port}\n"
            "    user: postgres\n    dbname: postgres\n"
            f"  - name: gone\n    host: 127.0.0.1\n    port: {gone_port}\n"
            "    user: postgres\n    dbname: postgres\n")
    if with_replica:
        text += (f"  - name: replica\n    host: 127.0.0.1\n    port: {pg_port}\n"
                 "    user: postgres\n    dbname: template1\n")
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


class Prometheus(e2e.Prometheus):
    """Prometheus with the two discovery jobs and nothing else."""

    def __init__(self, root, agent_port):
        self.agent_address = f"127.0.0.1:{agent_port}"
        url = f"http://127.0.0.1:{agent_port}/discovery"
        # refresh_interval: how soon a target added on the agent shows up
        # (default 60s); the test does not wait that long.
        super().__init__(root, scrape_configs=(
            "scrape_configs:\n"
            "  - job_name: sd-only\n    scrape_timeout: 1s\n"
            "    http_sd_configs:\n"
            f"      - url: {url}\n        refresh_interval: 1s\n"
            "  - job_name: sd-honor\n    scrape_timeout: 1s\n"
            "    honor_labels: true\n    http_sd_configs:\n"
            f"      - url: {url}\n        refresh_interval: 1s\n"))


def active_targets(prom):
    r = prom.api("targets", state="active")
    if r.get("status") != "success":
        return []
    return r["data"]["activeTargets"]


def scraped(prom, job, names):
    """True when job has exactly one healthy target per name, each scraped
    at /probe?target=NAME with target=NAME."""
    found = {}
    for t in active_targets(prom):
        if t["labels"].get("job") != job:
            continue
        name = t["labels"].get("target")
        if (t["health"] == "up" and
                t["scrapeUrl"].endswith(f"/probe?target={name}")):
            found[name] = found.get(name, 0) + 1
    return found == {n: 1 for n in names}


def values(prom, expr):
    r = prom.query(expr)
    if r.get("status") != "success":
        return None
    return {tuple(sorted(s["metric"].items())): float(s["value"][1])
            for s in r["data"]["result"]}


def check_job(prom, job, names, want_pgconn_up):
    e2e.eventually(f"{job}: every target scraped through /probe",
                   lambda: scraped(prom, job, names), timeout=60)
    # Prometheus's own up, one per target: each is its own scrape, of the
    # address the discovery named (the agent's, from the Host header).
    def ups():
        got = values(prom, f'up{{job="{job}"}}') or {}
        return sorted((dict(k)["target"], dict(k)["instance"], v)
                      for k, v in got.items())
    want = sorted((n, prom.agent_address, 1.0) for n in names)
    e2e.eventually(f"{job}: up 1 for each of {names} at the agent",
                   lambda: ups() == want, timeout=30)
    for name, want in want_pgconn_up.items():
        e2e.eventually(
            f"{job}: pgconn_up{{target={name}}} == {want}",
            lambda: set((values(prom, f'pgconn_up{{job="{job}",'
                                      f'target="{name}"}}') or {}).values())
            == {want}, timeout=30)
    # A probe serves its own target's series only.
    series = values(prom, f'count by (target) ({{job="{job}",'
                          '__name__=~"pgconn_.+"})') or {}
    seen = {dict(k).get("target") for k in series}
    if seen != set(names):
        raise Failure(f"{job}: series carry targets {seen}, want {names}")


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    agent_binary = argv[1]
    for binary in (e2e.PROMETHEUS, e2e.PSQL, agent_binary):
        if not os.access(binary, os.X_OK):
            raise Failure(f"{binary} not found or not executable")
    root = tempfile.mkdtemp(prefix="pgconn-discovery-")
    os.chmod(root, 0o755)
    pg = prom = agent = None
    started = time.monotonic()
    try:
        pg = e2e.Postgres(root)
        pg.start()
        agent_port = e2e.free_port()
        config = os.path.join(root, "pgconn.yaml")
        write_agent_config(config, pg.port, e2e.free_port(), False)
        agent_log = open(os.path.join(root, "agent.log"), "w")
        agent = subprocess.Popen(
            [agent_binary, f"--config.file={config}",
             f"--web.listen-address=127.0.0.1:{agent_port}"],
            stdout=agent_log, stderr=subprocess.STDOUT)
        prom = Prometheus(root, agent_port)
        e2e.eventually("Prometheus ready", prom.ready)

        for job in ("sd-only", "sd-honor"):
            check_job(prom, job, ["main", "gone"],
                      {"main": 1.0, "gone": 0.0})
        # Without honor_labels, Prometheus keeps the target label of the
        # discovery and renames the scraped one (same value) to
        # exported_target; with it, the scraped label stays as it is.
        plain = values(prom, 'pgconn_up{job="sd-only",target="main"}')
        honor = values(prom, 'pgconn_up{job="sd-honor",target="main"}')
        if [dict(k).get("exported_target") for k in plain] != ["main"]:
            raise Failure(f"sd-only: want exported_target=main, got {plain}")
        if [dict(k).get("exported_target") for k in honor] != [None]:
            raise Failure(f"sd-honor: want no exported_target, got {honor}")
        log(f"both jobs scrape main and gone through /probe "
            f"({time.monotonic() - started:.1f} s)")

        # A target added by a reload is discovered.
        write_agent_config(config, pg.port, e2e.free_port(), True)
        agent.send_signal(signal.SIGHUP)
        reload_at = time.monotonic()
        for job in ("sd-only", "sd-honor"):
            check_job(prom, job, ["main", "gone", "replica"],
                      {"replica": 1.0})
        log(f"replica discovered {time.monotonic() - reload_at:.1f} s after "
            "SIGHUP")
        log(f"PASS in {time.monotonic() - started:.1f} s")
        return 0
    except Failure as e:
        print(f"[discovery] FAIL: {e}", file=sys.stderr)
        for name in ("agent.log", "prometheus/prometheus.log"):
            e2e.print_tail(os.path.join(root, name), name)
        return 1
    finally:
        if agent is not None:
            agent.terminate()
            try:
                agent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
        if prom is not None:
            prom.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Failure as e:
        print(f"[discovery] FAIL: {e}", file=sys.stderr)
        sys.exit(1)
