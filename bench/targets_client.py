#!/usr/bin/python3
"""The measuring half of bench/targets.sh (which starts PostgreSQL and
writes the configurations):

  targets_client.py once   AGENT CONFIG N RUNS WARMUP WORKDIR PG_PORT PG_PID
  targets_client.py steady AGENT CONFIG N SECONDS WORKDIR PG_PORT
  targets_client.py detail RESULTS.jsonl
  targets_client.py table  RESULTS.jsonl

once    runs `AGENT --config.file=CONFIG --once` WARMUP + RUNS times and
        records, for each measured run, the agent's CPU time (user + sys, the
        child's own rusage from os.wait4), its wall time, and the CPU the
        server's backends spent for it (the postmaster PG_PID reaps them, so
        its cutime + cstime grow by exactly that).
steady  starts the agent as a server polling every second, waits until every
        target has been polled (/readyz) and 2.5 s more (the first polls also
        connect), then scrapes /metrics once per second for SECONDS over one
        HTTP/1.1 connection kept alive, with Accept-Encoding: gzip. The
        agent's CPU comes from /proc/PID/stat (utime + stime) right after the
        first and the last scrape of the window, the polls from the sum of
        pgconn_polls_total in those two expositions.
detail  prints the raw numbers behind the last result line.
table   prints the markdown table of every result line, with ratios against
        the smallest target count.

once and steady print one JSON object. Both record how busy the whole
machine was meanwhile, since other work on it distorts wall times. Loopback
only. Every measurement first waits until the previous agent's backends have
left PostgreSQL, so that they compete neither for CPU nor for
max_connections.
"""
import gzip
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def agent_backends(pg_port):
    out = subprocess.run(
        ["psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(pg_port),
         "-U", "postgres", "-d", "postgres", "-c",
         "SELECT count(*) FROM pg_stat_activity "
         "WHERE application_name = 'pgconn-agent'"],
        check=True, capture_output=True, text=True).stdout
    return int(out.strip())


def wait_backends_gone(pg_port, timeout=60):
    deadline = time.monotonic() + timeout
    while agent_backends(pg_port) > 0:
        if time.monotonic() > deadline:
            sys.exit(f"targets_client: agent backends still there after "
                     f"{timeout} s")
        time.sleep(0.1)


def proc_stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        # comm (field 2) is in parentheses and may contain spaces; the list
        # returned starts at field 3.
        return f.read().rsplit(")", 1)[1].split()


def proc_cpu_ticks(pid):
    rest = proc_stat_fields(pid)
    return int(rest[14 - 3]) + int(rest[15 - 3])  # utime + stime


def reaped_children_ticks(pid):
    rest = proc_stat_fields(pid)
    return int(rest[16 - 3]) + int(rest[17 - 3])  # cutime + cstime


class MachineCpu:
    """Busy time of the whole machine (every core) from /proc/stat."""

    @staticmethod
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]  # idle + iowait
        return sum(v[:8]) - idle, time.monotonic()

    def __init__(self):
        self.busy0, self.t0 = self.read()

    def busy_cores(self):
        busy1, t1 = self.read()
        return (busy1 - self.busy0) / CLK_TCK / (t1 - self.t0)


def count_up(text):
    return sum(1 for line in text.splitlines()
               if line.startswith("pgconn_up{") and line.endswith(" 1"))


def sum_samples(text, name):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def cmd_once(agent, config, n, runs, warmup, workdir, pg_port, pg_pid):
    cpu_ms, wall_ms, server_ms, busy = [], [], [], []
    plain_bytes = 0
    out_path = os.path.join(workdir, f"once-{n}.prom")
    log_path = os.path.join(workdir, f"agent-once-{n}.log")
    for i in range(warmup + runs):
        wait_backends_gone(pg_port)
        server0 = reaped_children_ticks(pg_pid)
        machine = MachineCpu()
        with open(out_path, "wb") as out, open(log_path, "ab") as err:
            t0 = time.monotonic()
            p = subprocess.Popen(
                [agent, f"--config.file={config}", "--once"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.monotonic() - t0
        busy_cores = machine.busy_cores()
        p.returncode = os.waitstatus_to_exitcode(status)
        wait_backends_gone(pg_port)
        server = reaped_children_ticks(pg_pid) - server0
        with open(out_path) as f:
            text = f.read()
        up = count_up(text)
        if p.returncode != 0 or up != n:
            sys.exit(f"targets_client: --once with {n} targets exited "
                     f"{p.returncode}, {up} targets up\n{tail(log_path)}")
        plain_bytes = len(text.encode())
        if i >= warmup:
            cpu_ms.append((ru.ru_utime + ru.ru_stime) * 1000)
            wall_ms.append(wall * 1000)
            server_ms.append(server * 1000 / CLK_TCK)
            busy.append(busy_cores)
    return {"cpu_ms": cpu_ms, "wall_ms": wall_ms, "server_cpu_ms": server_ms,
            "machine_busy_cores": busy, "plain_bytes": plain_bytes}


class Scraper:
    """GET over one HTTP/1.1 connection, kept alive. When the server closes
    it anyway, the next request opens a new one, and that is counted."""

    def __init__(self, port, timeout=60):
        self.conn = http.client.HTTPConnection("127.0.0.1", port,
                                               timeout=timeout)
        self.local = None
        self.connections = 0
        self.server_closes = 0

    def get(self, path):
        t0 = time.monotonic()
        if self.conn.sock is None:
            self.conn.connect()
        local = self.conn.sock.getsockname()
        if local != self.local:
            self.connections += 1
            self.local = local
        self.conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
        resp = self.conn.getresponse()
        body = resp.read()
        dt = time.monotonic() - t0
        if resp.will_close:
            self.server_closes += 1
            self.conn.close()
        return resp, body, dt

    def metrics(self):
        resp, body, dt = self.get("/metrics")
        if resp.status != 200:
            sys.exit(f"targets_client: /metrics answered {resp.status}")
        if (resp.getheader("Content-Encoding") != "gzip"
                or body[:2] != b"\x1f\x8b"):
            sys.exit("targets_client: the /metrics body is not gzip")
        return gzip.decompress(body).decode(), len(body), dt

    def close(self):
        self.conn.close()


def wait_ready(p, port, log_path, timeout=180):
    deadline = time.monotonic() + timeout
    while True:
        if p.poll() is not None:
            sys.exit(f"targets_client: the agent exited {p.returncode}\n"
                     f"{tail(log_path)}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/readyz")
            status = c.getresponse().status
            c.close()
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"targets_client: the agent was not ready after "
                     f"{timeout} s\n{tail(log_path)}")
        time.sleep(0.2)


def cmd_steady(agent, config, n, seconds, workdir, pg_port):
    wait_backends_gone(pg_port)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_path = os.path.join(workdir, f"agent-steady-{n}.log")
    with open(log_path, "ab") as err:
        p = subprocess.Popen(
            [agent, f"--config.file={config}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    s = Scraper(port)
    try:
        t_launch = time.monotonic()
        wait_ready(p, port, log_path)
        ready_s = time.monotonic() - t_launch
        time.sleep(2.5)

        text, gz_bytes, _ = s.metrics()
        ticks0 = proc_cpu_ticks(p.pid)
        polls0 = sum_samples(text, "pgconn_polls_total")
        machine = MachineCpu()
        t_start = time.monotonic()
        latencies = []
        k = 1
        # One scrape per second; a scrape that comes back late is followed
        # by the next one at once, and the slots it overran are skipped.
        while True:
            delay = t_start + k - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            text, gz_bytes, dt = s.metrics()
            latencies.append(dt * 1000)
            elapsed = time.monotonic() - t_start
            if k >= seconds or elapsed >= seconds:
                break
            k = max(k + 1, int(elapsed) + 1)
        ticks1 = proc_cpu_ticks(p.pid)
        window = time.monotonic() - t_start
        busy = machine.busy_cores()
        polls1 = sum_samples(text, "pgconn_polls_total")
        up = count_up(text)
        # Closed before the agent is stopped: with a kept-alive connection
        # open, its HTTP server waits for that connection to time out.
        s.close()
        if up != n:
            sys.exit(f"targets_client: only {up} of {n} targets up\n"
                     f"{tail(log_path)}")
        if polls1 <= polls0:
            sys.exit("targets_client: no polls during the window")
        return {
            "ready_s": ready_s,
            "cpu_ticks": ticks1 - ticks0,
            "cpu_ms": (ticks1 - ticks0) * 1000 / CLK_TCK,
            "polls": polls1 - polls0,
            "window_s": window,
            "machine_busy_cores": busy,
            "scrape_ms": latencies,
            "http_connections": s.connections,
            "server_closes": s.server_closes,
            "plain_bytes": len(text.encode()),
            "gzip_bytes": gz_bytes,
        }
    finally:
        s.close()
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def fmt(x):
    """About three significant digits, never in exponent notation."""
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def cmd_detail(path):
    with open(path) as f:
        r = json.loads([line for line in f if line.strip()][-1])
    n, once, st = r["n"], r["once"], r["steady"]

    def runs(xs):
        return " ".join(f"{x:.0f}" for x in xs) + \
            f"  (median {statistics.median(xs):.0f})"

    print(f"{n} targets")
    print(f"  once, agent CPU ms per run:   {runs(once['cpu_ms'])}")
    print(f"  once, wall ms per run:        {runs(once['wall_ms'])}")
    print(f"  once, server CPU ms per run:  {runs(once['server_cpu_ms'])}")
    # Cores busy with something else than this agent and its backends.
    other = [b - (a + sv) / w for b, a, sv, w in zip(
        once["machine_busy_cores"], once["cpu_ms"], once["server_cpu_ms"],
        once["wall_ms"])]
    print("  once, machine busy (cores):   "
          + " ".join(f"{x:.2f}" for x in once["machine_busy_cores"])
          + "  (other work: " + " ".join(f"{x:.2f}" for x in other) + ")")
    print(f"  steady: ready after {st['ready_s']:.1f} s; window "
          f"{st['window_s']:.1f} s: {st['cpu_ticks']} CPU ticks = "
          f"{st['cpu_ms']:.0f} ms, {st['polls']:.0f} target-polls "
          f"({st['polls'] / st['window_s']:.1f}/s for "
          f"{n / float(os.environ.get('POLL_INTERVAL_SECONDS', '1')):.1f} "
          f"expected), "
          f"machine busy {st['machine_busy_cores']:.2f} cores")
    lat = st["scrape_ms"]
    print(f"  steady: {len(lat)} scrapes on {st['http_connections']} HTTP "
          f"connection(s), {st['server_closes']} closed by the agent; "
          f"ms median {statistics.median(lat):.2f}, max {max(lat):.2f}; "
          f"exposition {st['plain_bytes']} bytes, {st['gzip_bytes']} gzip")


def cmd_table(path):
    with open(path) as f:
        rows = sorted((json.loads(line) for line in f if line.strip()),
                      key=lambda r: r["n"])
    base = rows[0]

    def once_cpu(r):
        return statistics.median(r["once"]["cpu_ms"]) / r["n"]

    def once_wall(r):
        return statistics.median(r["once"]["wall_ms"]) / r["n"]

    def steady(r):
        return r["steady"]["cpu_ms"] / r["steady"]["polls"]

    bn = base["n"]
    print(f"| targets | once: CPU ms/target | once: wall ms/target "
          f"| ratio vs {bn} (CPU / wall) | steady: CPU ms per target-poll "
          f"| ratio vs {bn} | steady: target-polls/s | scrape p50 ms "
          f"| exposition bytes (plain / gzip) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        st = r["steady"]
        print(f"| {r['n']} | {fmt(once_cpu(r))} | {fmt(once_wall(r))} "
              f"| {once_cpu(r) / once_cpu(base):.2f} / "
              f"{once_wall(r) / once_wall(base):.2f} "
              f"| {fmt(steady(r))} | {steady(r) / steady(base):.2f} "
              f"| {fmt(st['polls'] / st['window_s'])} "
              f"| {fmt(statistics.median(st['scrape_ms']))} "
              f"| {st['plain_bytes']} / {st['gzip_bytes']} |")


def main():
    cmd, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if cmd == "once" and len(args) == 8:
        agent, config, n, runs, warmup, workdir, pg_port, pg_pid = args
        res = cmd_once(agent, config, int(n), int(runs), int(warmup), workdir,
                       int(pg_port), int(pg_pid))
    elif cmd == "steady" and len(args) == 6:
        agent, config, n, seconds, workdir, pg_port = args
        res = cmd_steady(agent, config, int(n), int(seconds), workdir,
                         int(pg_port))
    elif cmd == "detail" and len(args) == 1:
        cmd_detail(args[0])
        return
    elif cmd == "table" and len(args) == 1:
        cmd_table(args[0])
        return
    else:
        sys.exit(__doc__)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
