"""Real servers for the end-to-end tests, on free loopback ports in one
temporary directory: PostgreSQL, PgBouncer, the agent, Prometheus,
Alertmanager (and a webhook receiver for its notifications), and fleets of
pool workers (pool_worker.py). Shared by every script in tests/e2e/.

    with harness.Stack("pgconn-e2e-") as stack:
        pg = stack.add(harness.Postgres(stack.root, max_connections=20))
        pg.start()
        agent = stack.add(harness.Agent(stack.root, binary, config_text))
        prom = stack.add(harness.Prometheus(stack.root, [agent.address]))
        ...

A Stack stops what it holds in reverse order and deletes the directory; when
the block raises, it prints the tail of every server's log first. A missing
server binary is a Failure, never a skip.
"""
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
PSQL = "/usr/bin/psql"
PGBOUNCER = "/usr/sbin/pgbouncer"
HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"


class Failure(Exception):
    pass


def log(msg):
    print(f"[e2e] {msg}", flush=True)


def print_tail(path, label=None, limit=3000):
    """The end of a server's log on stderr, when a test fails."""
    if path and os.path.exists(path):
        with open(path, errors="replace") as f:
            tail = f.read()[-limit:]
        print(f"--- {label or path} (tail) ---\n{tail}", file=sys.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require(*binaries):
    for binary in binaries:
        if not os.access(binary, os.X_OK):
            raise Failure(f"{binary} not found or not executable")


def eventually(what, condition, timeout=60.0, interval=0.25):
    """Polls condition() until it returns something true; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise Failure(f"timed out after {timeout:.0f}s waiting for {what}")


def pg_bindir():
    """PGCONN_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin."""
    given = os.environ.get("PGCONN_PG_BINDIR")
    if given:
        if not os.access(os.path.join(given, "postgres"), os.X_OK):
            raise Failure(f"PGCONN_PG_BINDIR={given} has no postgres binary")
        return given
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        raise Failure("PostgreSQL server binaries not found "
                      "(Debian package postgresql-15)")
    return dirs[-1]


def terminate(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def http_get(url, timeout=10, headers=None):
    """(status, body bytes); an HTTP error status is returned, not raised."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def accepts(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Stack:
    """The temporary directory and the servers in it, stopped in reverse
    order when the block ends."""

    def __init__(self, prefix="pgconn-e2e-"):
        self.root = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.root, 0o755)
        self.servers = []

    def add(self, server):
        self.servers.append(server)
        return server

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if error is not None:
            self.print_logs()
        for server in reversed(self.servers):
            try:
                server.stop()
            except Exception as e:  # keep stopping the others
                print(f"[e2e] stopping {type(server).__name__}: {e}",
                      file=sys.stderr)
        shutil.rmtree(self.root, ignore_errors=True)
        return False

    def print_logs(self, limit=3000):
        for server in self.servers:
            path = getattr(server, "log_path", None)
            if path:
                print_tail(path, os.path.relpath(path, self.root), limit)


class Postgres:
    """A cluster of its own; max_connections and the reserved slots given."""

    def __init__(self, root, max_connections=20, reserved=3, settings=None,
                 name="pg"):
        self.dir = os.path.join(root, name)
        os.mkdir(self.dir)
        self.bindir = pg_bindir()
        self.port = free_port()
        self.max_connections = max_connections
        self.reserved = reserved
        self.settings = dict(settings or {})
        self.log_path = os.path.join(self.dir, "server.log")
        self.as_owner = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        subprocess.run(self.as_owner + [
            f"{self.bindir}/initdb", "-D", f"{self.dir}/data", "-A", "trust",
            "-U", "postgres", "--no-sync", "-E", "UTF8"], check=True,
            stdout=subprocess.DEVNULL)
        self.running = False

    @property
    def usable(self):
        return self.max_connections - self.reserved

    def start(self):
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
                f"-c max_connections={self.max_connections} "
                f"-c superuser_reserved_connections={self.reserved} -c fsync=off")
        for k, v in self.settings.items():
            opts += f" -c {k}={v}"
        subprocess.run(self.as_owner + [
            f"{self.bindir}/pg_ctl", "-D", f"{self.dir}/data", "-l",
            self.log_path, "-w", "-o", opts, "start"],
            check=True, stdout=subprocess.DEVNULL)
        self.running = True

    def stop(self):
        if self.running:
            subprocess.run(self.as_owner + [
                f"{self.bindir}/pg_ctl", "-D", f"{self.dir}/data", "-m",
                "fast", "-w", "stop"], stdout=subprocess.DEVNULL)
            self.running = False

    def psql_args(self, db="postgres", user="postgres"):
        return [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                "-p", str(self.port), "-U", user, "-d", db]

    def sql(self, statement, db="postgres"):
        subprocess.run(self.psql_args(db) + ["-c", statement], check=True,
                       stdout=subprocess.DEVNULL)

    def scalar(self, query, db="postgres"):
        """The first column of the first row, as text."""
        out = subprocess.run(self.psql_args(db) + ["-At", "-c", query],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip().split("\n")[0]


class Session:
    """A psql process holding one connection open until closed."""

    def __init__(self, server, app, sql="SELECT 1;", user="postgres",
                 db="postgres"):
        env = dict(os.environ, PGAPPNAME=app)
        self.proc = subprocess.Popen(
            [PSQL, "-X", "-q", "-h", "127.0.0.1", "-p", str(server.port), "-U",
             user, "-d", db], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        self.proc.stdin.write((sql + "\n").encode())
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    stop = close


class PgBouncer:
    """PgBouncer in front of a Postgres, database "postgres", trust auth,
    user postgres in stats_users. Settings after [pgbouncer] are given."""

    def __init__(self, root, pg, settings=None, name="pgbouncer"):
        require(PGBOUNCER)
        self.dir = os.path.join(root, name)
        os.mkdir(self.dir)
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "pgbouncer.log")
        merged = {"pool_mode": "transaction", "default_pool_size": 2,
                  "max_db_connections": 5}
        merged.update(settings or {})
        self.ini = os.path.join(self.dir, "pgbouncer.ini")
        with open(self.ini, "w") as f:
            f.write(f"[databases]\npostgres = host=127.0.0.1 port={pg.port} "
                    "dbname=postgres\n[pgbouncer]\nlisten_addr = 127.0.0.1\n"
                    f"listen_port = {self.port}\nunix_socket_dir =\n"
                    f"auth_type = trust\nauth_file = {self.dir}/users.txt\n"
                    "stats_users = postgres\n")
            for k, v in merged.items():
                f.write(f"{k} = {v}\n")
        with open(os.path.join(self.dir, "users.txt"), "w") as f:
            f.write('"postgres" ""\n')
        # PgBouncer refuses to run as root; -u drops to postgres.
        args = [PGBOUNCER, self.ini]
        if os.geteuid() == 0:
            for entry in ("", "pgbouncer.ini", "users.txt"):
                shutil.chown(os.path.join(self.dir, entry), "postgres")
            args = [PGBOUNCER, "-u", "postgres", self.ini]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        eventually("PgBouncer accepting connections",
                   lambda: accepts(self.port))

    def stop(self):
        terminate(self.proc)
        self.log.close()


class Agent:
    """pgconn-agent with a YAML configuration, on a free port."""

    def __init__(self, root, binary, config_text, args=(), name="agent"):
        require(binary)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.config = os.path.join(root, f"{name}.yaml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.log_path = os.path.join(root, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.argv = [binary, f"--config.file={self.config}",
                     f"--web.listen-address={self.address}", *args]
        self.proc = subprocess.Popen(self.argv, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def restart(self):
        """Stops the agent and starts it again on the same address (its
        counters start again from 0, as after a real restart)."""
        terminate(self.proc)
        eventually("the agent's port free", lambda: not accepts(self.port),
                   timeout=10)
        self.proc = subprocess.Popen(self.argv, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def get(self, path, **kw):
        return http_get(f"http://{self.address}{path}", **kw)

    def wait_ready(self, timeout=60):
        eventually("the agent ready (/readyz 200)",
                   lambda: self._status("/readyz") == 200, timeout=timeout)

    def _status(self, path):
        try:
            return self.get(path, timeout=2)[0]
        except OSError:
            return None

    def stop(self):
        terminate(self.proc)
        self.log.close()


class Prometheus:
    """A Prometheus scraping the given targets (host:port strings) under one
    job, or the scrape_configs given as YAML text, with rule files.
    `backfill`: an OpenMetrics file (with timestamps) turned into blocks of
    its TSDB before it starts (promtool tsdb create-blocks-from
    openmetrics), so that it holds a known history."""

    def __init__(self, root, targets=(), rule_files=(), scrape_interval="1s",
                 evaluation_interval="1s", scrape_configs=None, job="pgconn",
                 extra_config="", args=(), name="prometheus", backfill=None):
        require(PROMETHEUS)
        self.dir = os.path.join(root, name)
        os.mkdir(self.dir)
        if backfill is not None:
            require(PROMTOOL)
            subprocess.run([PROMTOOL, "tsdb", "create-blocks-from",
                            "openmetrics", backfill, f"{self.dir}/data"],
                           check=True, stdout=subprocess.DEVNULL)
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.config = os.path.join(self.dir, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write(f"global:\n  scrape_interval: {scrape_interval}\n"
                    f"  evaluation_interval: {evaluation_interval}\n")
            if rule_files:
                f.write("rule_files:\n")
                for r in rule_files:
                    f.write(f"  - {json.dumps(r)}\n")
            f.write(extra_config)
            if scrape_configs is None:
                f.write(f"scrape_configs:\n  - job_name: {job}\n"
                        "    static_configs:\n"
                        f"      - targets: {json.dumps(list(targets))}\n")
            else:
                f.write(scrape_configs)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.config}",
             f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", *args],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        status, body = http_get(url)
        return json.loads(body)

    def query(self, expr, **params):
        return self.api("query", query=expr, **params)

    def value(self, expr, **params):
        """The first sample's value, or None when there is none."""
        r = self.query(expr, **params)
        if r.get("status") != "success" or not r["data"]["result"]:
            return None
        return float(r["data"]["result"][0]["value"][1])

    def ready(self):
        try:
            return http_get(f"{self.url}/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def wait_ready(self, timeout=60):
        eventually("Prometheus ready", self.ready, timeout=timeout)

    def alerts(self, name=None):
        alerts = self.api("alerts")["data"]["alerts"]
        return [a for a in alerts
                if name is None or a["labels"].get("alertname") == name]

    def stop(self):
        terminate(self.proc, timeout=20)
        self.log.close()


class Workers:
    """`replicas` pool_worker.py processes of one application: the guide's
    workers × DB_POOL_MAX. They run the same plan in lockstep from
    start_at (unix seconds; default: one second from now). `env` adds to
    or overrides the guide's variables (DB_MAX_IDLE_TIME, for one)."""

    def __init__(self, server, app, replicas, pool_min, pool_max, plan,
                 start_at=None, user="postgres", db="postgres", env=None):
        self.app = app
        self.start_at = start_at if start_at is not None else time.time() + 1
        env = dict(os.environ, DB_HOST="127.0.0.1", DB_PORT=str(server.port),
                   DB_USER=user, DB_NAME=db, DB_POOL_MIN=str(pool_min),
                   DB_POOL_MAX=str(pool_max), PGAPPNAME=app, **(env or {}))
        self.procs = [subprocess.Popen(
            [SYSTEM_PYTHON, os.path.join(HERE, "pool_worker.py"),
             "--plan", json.dumps(plan), "--start-at", str(self.start_at)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for _ in range(replicas)]
        self.results = []

    def wait(self, timeout=600):
        """Waits for every worker; their final reports (dicts)."""
        for p in self.procs:
            out, err = p.communicate(timeout=timeout)
            if p.returncode != 0:
                raise Failure(f"pool worker of {self.app} exited "
                              f"{p.returncode}: {err.strip()[-500:]}")
            lines = [json.loads(l) for l in out.splitlines() if l.strip()]
            self.results.append(lines[-1] if lines else {})
        return self.results

    def stop(self):
        for p in self.procs:
            terminate(p)


class Alertmanager:
    """Debian's Alertmanager with the given configuration (YAML text), on a
    free port, clustering off."""

    def __init__(self, root, config_text, name="alertmanager"):
        require(ALERTMANAGER)
        self.dir = os.path.join(root, name)
        os.mkdir(self.dir)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.address}"
        self.config = os.path.join(self.dir, "alertmanager.yml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.log_path = os.path.join(self.dir, "alertmanager.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [ALERTMANAGER, f"--config.file={self.config}",
             f"--storage.path={self.dir}/data",
             f"--web.listen-address={self.address}",
             "--cluster.listen-address="],
            stdout=self.log, stderr=subprocess.STDOUT)

    def api(self, path, **params):
        url = f"{self.url}/api/v2/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        return json.loads(http_get(url)[1])

    def wait_ready(self, timeout=60):
        def ready():
            try:
                return http_get(f"{self.url}/-/ready", timeout=2)[0] == 200
            except OSError:
                return False
        eventually("Alertmanager ready", ready, timeout=timeout)

    def stop(self):
        terminate(self.proc)
        self.log.close()


class WebhookReceiver:
    """An HTTP server that keeps every JSON body POSTed to it, with the time
    it arrived: what an Alertmanager webhook receiver gets."""

    def __init__(self):
        import http.server
        import threading
        received = self.received = []
        lock = self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    received.append((time.time(), self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def notifications(self):
        with self.lock:
            return list(self.received)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
