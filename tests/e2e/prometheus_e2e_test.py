#!/usr/bin/python3
"""End to end: a real PostgreSQL (and a PgBouncer in front of it), the real
agent, a real Prometheus.

Prometheus scrapes the agent every second with pgconn's rule files loaded.
The test then
  1. evaluates every alert expression and every dashboard query (with the
     dashboard variables substituted) through Prometheus' HTTP API, and fails
     if one does not parse, names a metric Prometheus has never seen, or (for
     dashboard queries) returns no series (queries on ALERTS must return
     series while the alerts of step 3 are active);
  2. checks that every rule evaluates without error (/api/v1/rules);
  3. opens connections until utilization crosses the warning threshold and
     waits for PgconnConnectionsNearLimit to become pending or firing in
     /api/v1/alerts, fills every usable slot (critical tier and
     PgconnConnectionsExhausted), closes them and waits for the alerts to
     clear; then stops PostgreSQL and waits for PgconnTargetDown.

Usage: prometheus_e2e_test.py AGENT_BINARY SOURCE_DIR
Every server runs on a free loopback port in a temporary directory and is
stopped at the end. A missing server binary is a failure, not a skip.
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

SOURCE_DIR = None
PROMETHEUS = "/usr/bin/prometheus"
PSQL = "/usr/bin/psql"
PGBOUNCER = "/usr/sbin/pgbouncer"

# max_connections 20 with 3 superuser slots: 17 usable. 0.8 x 17 = 13.6, so
# 14 client connections cross the warning threshold (14/17 = 0.82): 13
# sessions of the test and the agent's own, which takes a slot like any.
MAX_CONNECTIONS = 20
RESERVED = 3
USABLE = MAX_CONNECTIONS - RESERVED


def log(msg):
    print(f"[e2e] {msg}", flush=True)


class Failure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        raise Failure("PostgreSQL server binaries not found "
                      "(Debian package postgresql-15)")
    return dirs[-1]


def eventually(what, condition, timeout=60.0, interval=0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise Failure(f"timed out after {timeout:.0f}s waiting for {what}")


class Postgres:
    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        os.mkdir(self.dir)
        self.bindir = pg_bindir()
        self.port = free_port()
        self.as_owner = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        subprocess.run(self.as_owner + [
            f"{self.bindir}/initdb", "-D", f"{self.dir}/data", "-A", "trust",
            "-U", "postgres", "--no-sync"], check=True,
            stdout=subprocess.DEVNULL)
        self.running = False

    def start(self):
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
                f"-c max_connections={MAX_CONNECTIONS} "
                f"-c superuser_reserved_connections={RESERVED} -c fsync=off")
        subprocess.run(self.as_owner + [
            f"{self.bindir}/pg_ctl", "-D", f"{self.dir}/data", "-l",
            f"{self.dir}/server.log", "-w", "-o", opts, "start"],
            check=True, stdout=subprocess.DEVNULL)
        self.running = True

    def stop(self):
        if self.running:
            subprocess.run(self.as_owner + [
                f"{self.bindir}/pg_ctl", "-D", f"{self.dir}/data", "-m",
                "fast", "-w", "stop"], stdout=subprocess.DEVNULL)
            self.running = False

    def sql(self, statement, db="postgres"):
        subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                        "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        "-d", db, "-c", statement], check=True,
                       stdout=subprocess.DEVNULL)


class Session:
    """A psql process holding one connection open until closed."""

    def __init__(self, pg, app, sql="SELECT 1;", user="postgres", db="postgres"):
        env = dict(os.environ, PGAPPNAME=app)
        self.proc = subprocess.Popen(
            [PSQL, "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U",
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


class PgBouncer:
    """PgBouncer in front of the PostgreSQL, for the PgBouncer target's
    dashboard queries and alert expressions."""

    def __init__(self, root, pg):
        self.dir = os.path.join(root, "pgbouncer")
        os.mkdir(self.dir)
        self.port = free_port()
        self.ini = os.path.join(self.dir, "pgbouncer.ini")
        with open(self.ini, "w") as f:
            f.write(f"[databases]\npostgres = host=127.0.0.1 port={pg.port} "
                    "dbname=postgres\n[pgbouncer]\nlisten_addr = 127.0.0.1\n"
                    f"listen_port = {self.port}\nunix_socket_dir =\n"
                    f"auth_type = trust\nauth_file = {self.dir}/users.txt\n"
                    "stats_users = postgres\npool_mode = transaction\n"
                    # A limit, so that its panel has a series.
                    "default_pool_size = 2\nmax_db_connections = 5\n")
        with open(os.path.join(self.dir, "users.txt"), "w") as f:
            f.write('"postgres" ""\n')
        # PgBouncer refuses to run as root; -u drops to postgres.
        self.args = [PGBOUNCER, self.ini]
        if os.geteuid() == 0:
            for name in ("", "pgbouncer.ini", "users.txt"):
                shutil.chown(os.path.join(self.dir, name), "postgres")
            self.args = [PGBOUNCER, "-u", "postgres", self.ini]
        self.log = open(os.path.join(self.dir, "pgbouncer.log"), "w")
        self.proc = subprocess.Popen(self.args, stdout=self.log,
                                     stderr=subprocess.STDOUT)

        def accepts():
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0
        eventually("PgBouncer accepting connections", accepts)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Prometheus:
    def __init__(self, root, agent_port, rule_files):
        self.dir = os.path.join(root, "prometheus")
        os.mkdir(self.dir)
        self.port = free_port()
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "rule_files:\n")
            for r in rule_files:
                f.write(f"  - {json.dumps(r)}\n")
            f.write("scrape_configs:\n  - job_name: pgconn\n"
                    "    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{agent_port}']\n")
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}",
             f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            return json.load(e)

    def query(self, expr):
        return self.api("query", query=expr)

    def ready(self):
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def value(prom, expr):
    r = prom.query(expr)
    if r.get("status") != "success" or not r["data"]["result"]:
        return None
    return float(r["data"]["result"][0]["value"][1])


def alert_states(prom, name):
    alerts = prom.api("alerts")["data"]["alerts"]
    return {(a["labels"].get("severity"), a["state"]): a
            for a in alerts if a["labels"].get("alertname") == name}


def dashboard_queries():
    dashboards = sorted(glob.glob(os.path.join(SOURCE_DIR, "dashboards/*.json")))
    out = subprocess.run(
        [sys.executable, os.path.join(SOURCE_DIR, "tests/dashboards/check_dashboards.py"),
         "--list-queries", "--with-variables", "--rate-interval", "10s"] + dashboards,
        check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def alert_rules(rule_files):
    import yaml  # python3-yaml
    rules = []
    for path in rule_files:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                if "alert" in rule:
                    rules.append((os.path.basename(path), rule))
    return rules


def metric_names(expr):
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests/dashboards"))
    import check_dashboards  # the PromQL lexer the dashboard checker uses
    return sorted({s["name"] for s in check_dashboards.selectors(expr)
                   if s.get("name")})


def reads(q, names):
    return bool(set(metric_names(q["expr"])) & names)


def evaluate(prom, q, problems, require_data=True):
    r = prom.query(q["expr"])
    where = f"dashboard {q['dashboard']} panel {q['panel']!r} ({q['refId']})"
    if r.get("status") != "success":
        problems.append(f"{where}: {r.get('error')}: {q['expr']}")
    elif require_data and not r["data"]["result"]:
        problems.append(f"{where}: no series: {q['expr']}")


def check_alert_queries(prom):
    """The dashboard queries on ALERTS, while an alert is active."""
    problems = []
    queries = [q for q in dashboard_queries() if reads(q, {"ALERTS"})]
    for q in queries:
        evaluate(prom, q, problems)
    if not queries:
        raise Failure("no dashboard query reads ALERTS")
    if problems:
        raise Failure("alert queries:\n  " + "\n  ".join(problems))
    log(f"evaluated {len(queries)} dashboard queries on ALERTS with an alert active")


def check_queries(prom, rule_files):
    problems = []
    queries = dashboard_queries()
    deferred = 0
    for q in queries:
        if reads(q, {"ALERTS"}):
            # Needs an active alert: checked for data in scenario().
            deferred += 1
            evaluate(prom, q, problems, require_data=False)
        else:
            evaluate(prom, q, problems)
    log(f"evaluated {len(queries)} dashboard queries ({deferred} on ALERTS "
        f"only parsed here)")

    rules = alert_rules(rule_files)
    seen_metrics = set()
    for path, rule in rules:
        where = f"{path}: alert {rule['alert']} ({rule['labels'].get('severity')})"
        r = prom.query(rule["expr"])
        if r.get("status") != "success":
            problems.append(f"{where}: {r.get('error')}")
            continue
        for name in metric_names(rule["expr"]):
            if name in seen_metrics:
                continue
            if value(prom, f"count({{__name__={json.dumps(name)}}})") is None:
                problems.append(f"{where}: Prometheus has no series named {name}")
            else:
                seen_metrics.add(name)
    log(f"evaluated {len(rules)} alert expressions; "
        f"{len(seen_metrics)} distinct metrics all present")

    groups = prom.api("rules")["data"]["groups"]
    for g in groups:
        for rule in g["rules"]:
            if rule.get("health") != "ok":
                problems.append(f"rule {rule.get('name')} in group {g['name']}: "
                                f"health {rule.get('health')}: {rule.get('lastError')}")
    if problems:
        raise Failure("queries:\n  " + "\n  ".join(problems))


def check_alert_text(alert):
    for k, v in alert["annotations"].items():
        if "<no value>" in v or "error" in v.lower() and "executing" in v.lower():
            raise Failure(f"annotation {k} of {alert['labels']} renders badly: {v}")


def scenario(pg, prom):
    sessions = []
    try:
        # Warning tier: 14 of 17 usable slots, the agent's included.
        for i in range(13):
            sessions.append(Session(pg, "e2e-worker"))
        eventually("pgconn_used_connections == 14 in Prometheus",
                   lambda: value(prom, 'pgconn_used_connections{target="e2e"}') == 14)
        warn = eventually(
            "PgconnConnectionsNearLimit (warning) pending or firing",
            lambda: alert_states(prom, "PgconnConnectionsNearLimit").get(("warning", "pending"))
            or alert_states(prom, "PgconnConnectionsNearLimit").get(("warning", "firing")))
        check_alert_text(warn)
        log(f"near-limit warning is {warn['state']} at "
            f"{float(warn['value']):.3f} utilization: {warn['annotations']['description'][:120]}...")
        if ("critical", "pending") in alert_states(prom, "PgconnConnectionsNearLimit"):
            raise Failure("critical tier pending at 82 % utilization")

        # Every usable slot: critical tier and exhaustion.
        for i in range(USABLE - 14):
            sessions.append(Session(pg, "e2e-bot"))
        eventually("pgconn_available_connections == 0",
                   lambda: value(prom, 'pgconn_available_connections{target="e2e"}') == 0)
        eventually("PgconnConnectionsNearLimit (critical) pending",
                   lambda: any(k[0] == "critical" for k in
                               alert_states(prom, "PgconnConnectionsNearLimit")))
        exhausted = eventually("PgconnConnectionsExhausted pending",
                               lambda: next(iter(alert_states(prom, "PgconnConnectionsExhausted").values()), None))
        check_alert_text(exhausted)
        log("all usable slots taken: critical tier and PgconnConnectionsExhausted are active")
        check_alert_queries(prom)
    finally:
        for s in sessions:
            s.close()
    eventually("pgconn_used_connections == 1 (the agent) after closing",
               lambda: value(prom, 'pgconn_used_connections{target="e2e"}') == 1)
    eventually("near-limit and exhausted alerts clear",
               lambda: not alert_states(prom, "PgconnConnectionsNearLimit")
               and not alert_states(prom, "PgconnConnectionsExhausted"))
    log("connections closed: the alerts cleared")

    pg.stop()
    down = eventually("PgconnTargetDown pending",
                      lambda: next(iter(alert_states(prom, "PgconnTargetDown").values()), None))
    check_alert_text(down)
    if alert_states(prom, "PgconnConnectionsNearLimit"):
        raise Failure("a near-limit alert is active for a target that is down")
    log("PostgreSQL stopped: PgconnTargetDown is pending")
    pg.start()
    eventually("pgconn_up back to 1",
               lambda: value(prom, 'pgconn_up{target="e2e"}') == 1)
    eventually("PgconnTargetDown clears",
               lambda: not alert_states(prom, "PgconnTargetDown"))
    log("PostgreSQL restarted: pgconn_up is 1 again and the alert cleared")


def main(argv):
    global SOURCE_DIR
    if len(argv) != 3:
        print(__doc__)
        return 2
    agent_binary, SOURCE_DIR = argv[1], os.path.abspath(argv[2])
    for binary in (PROMETHEUS, PSQL, PGBOUNCER, agent_binary):
        if not os.access(binary, os.X_OK):
            raise Failure(f"{binary} not found or not executable")
    rule_files = sorted(glob.glob(os.path.join(SOURCE_DIR, "alerts/*.yml")))
    if not rule_files:
        raise Failure("no alerts/*.yml")

    root = tempfile.mkdtemp(prefix="pgconn-e2e-")
    os.chmod(root, 0o755)
    pg = prom = agent = bouncer = None
    agent_log_path = os.path.join(root, "agent.log")
    try:
        pg = Postgres(root)
        pg.start()
        # Data for the per-database and per-role panels and alerts.
        pg.sql("CREATE DATABASE e2e_limited CONNECTION LIMIT 5")
        pg.sql("CREATE ROLE e2e_role LOGIN CONNECTION LIMIT 3")
        limited = [Session(pg, "e2e-limited", user="e2e_role", db="e2e_limited")]
        # The pool-budget panels: "e2e-limited" is a declared pool (below),
        # "e2e-undeclared" is not.
        limited.append(Session(pg, "e2e-undeclared"))
        # One client through PgBouncer makes a pool and its statistics.
        bouncer = PgBouncer(root, pg)
        limited.append(Session(bouncer, "e2e-through-pgbouncer"))

        agent_port = free_port()
        config = os.path.join(root, "pgconn.yaml")
        with open(config, "w") as f:
            f.write("poll_interval: 500ms\nconnect_timeout: 2s\nbackoff_max: 1s\n"
                    "targets:\n  - name: e2e\n    host: 127.0.0.1\n"
                    f"    port: {pg.port}\n    user: postgres\n    dbname: postgres\n"
                    "    overhead: 2\n    pools:\n      - application: e2e-limited\n"
                    "        replicas: 1\n        pool_min: 0\n        pool_max: 3\n"
                    # pg_ctl -l writes the server's stderr there, with
                    # initdb's default log_line_prefix.
                    f"    server_log:\n      path: {pg.dir}/server.log\n"
                    "      log_line_prefix: '%m [%p] '\n"
                    "  - name: e2e-bouncer\n    type: pgbouncer\n"
                    f"    host: 127.0.0.1\n    port: {bouncer.port}\n"
                    "    user: postgres\n")
        agent_log = open(agent_log_path, "w")
        agent = subprocess.Popen(
            [agent_binary, f"--config.file={config}",
             f"--web.listen-address=127.0.0.1:{agent_port}"],
            stdout=agent_log, stderr=subprocess.STDOUT)

        prom = Prometheus(root, agent_port, rule_files)
        eventually("Prometheus ready", prom.ready)
        eventually("pgconn_up == 1 scraped by Prometheus",
                   lambda: value(prom, 'pgconn_up{target="e2e"}') == 1)
        eventually("the limited role's session in Prometheus",
                   lambda: value(prom, 'pgconn_user_connections{user="e2e_role"}') == 1)
        eventually("the PgBouncer pool's statistics in Prometheus",
                   lambda: value(prom, 'pgconn_pgbouncer_transactions_total'
                                       '{target="e2e-bouncer"}'))
        # rate() needs two samples of every counter.
        time.sleep(3)
        check_queries(prom, rule_files)
        for s in limited:
            s.close()
        # Its idle server connection would count in the scenario's exact
        # numbers of PostgreSQL connections.
        bouncer.stop()
        scenario(pg, prom)
        log("PASS")
        return 0
    except Failure as e:
        print(f"[e2e] FAIL: {e}", file=sys.stderr)
        for name in ("agent.log", "prometheus/prometheus.log"):
            path = os.path.join(root, name)
            if os.path.exists(path):
                with open(path) as f:
                    tail = f.read()[-3000:]
                print(f"--- {name} (tail) ---\n{tail}", file=sys.stderr)
        return 1
    finally:
        if agent is not None:
            agent.terminate()
            try:
                agent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                agent.kill()
        if prom is not None:
            prom.stop()
        if bouncer is not None:
            bouncer.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Failure as e:
        print(f"[e2e] FAIL: {e}", file=sys.stderr)
        sys.exit(1)
