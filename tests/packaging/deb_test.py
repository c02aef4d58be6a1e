#!/usr/bin/env python3
"""Builds the Debian package, installs it on this machine, uses it, and
purges it: the path an operator takes.

  deb_test.py BUILD_DIR SOURCE_DIR

Needs root (dpkg -i), as CI is. Checks: the file name and Depends (from
dpkg-shlibdeps), the installed files, the pgconn user, the configuration's
permissions, `systemd-analyze verify` on the unit, the installed binary's
--once against a real PostgreSQL (started here on a free loopback port,
from the pg_template fixture when there is one), --health-check against the
running agent, and that `dpkg -P` leaves no file, user or group behind.
"""
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PACKAGE = "pgconn-agent"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import check, failures  # noqa: E402


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def version(source_dir):
    text = open(os.path.join(source_dir, "CMakeLists.txt")).read()
    return re.search(r"project\(pgconn VERSION (\S+)", text).group(1)


class Postgres:
    """A throwaway server as the postgres user, like tests/integration."""

    def __init__(self, tmp):
        bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bindirs:
            raise SystemExit("deb_test: PostgreSQL server binaries missing")
        self.bindir = bindirs[-1]
        self.dir = os.path.join(tmp, "pg")
        os.makedirs(self.dir)
        shutil.chown(self.dir, "postgres")
        self.data = os.path.join(self.dir, "data")
        template = os.environ.get("PGCONN_PG_TEMPLATE", "")
        if template and os.path.isdir(template):
            r = run(["runuser", "-u", "postgres", "--", "cp", "-a", template,
                     self.data])
        else:
            r = run(["runuser", "-u", "postgres", "--",
                     f"{self.bindir}/initdb", "-D", self.data, "-A", "trust",
                     "-U", "postgres", "--no-sync"])
        if r.returncode != 0:
            raise SystemExit(f"deb_test: cannot create the cluster: {r.stderr}")
        self.port = free_port()
        r = run(["runuser", "-u", "postgres", "--", f"{self.bindir}/pg_ctl",
                 "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w",
                 "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 "
                 f"-k {self.dir}", "start"])
        if r.returncode != 0:
            raise SystemExit(f"deb_test: pg_ctl start failed: {r.stderr}")

    def stop(self):
        run(["runuser", "-u", "postgres", "--", f"{self.bindir}/pg_ctl",
             "-D", self.data, "-m", "immediate", "-w", "stop"])


def main():
    build_dir, source_dir = sys.argv[1:3]
    if os.geteuid() != 0:
        raise SystemExit("deb_test: must run as root (dpkg -i)")
    if run(["dpkg-query", "-W", PACKAGE]).returncode == 0:
        # A run that died half-way; start from nothing.
        run(["dpkg", "-P", PACKAGE])
    tmp = tempfile.mkdtemp(prefix="pgconn-deb-test-")
    os.chmod(tmp, 0o755)
    pg = None
    try:
        r = run(["cpack", "-G", "DEB", "-B", tmp, "--config",
                 os.path.join(build_dir, "CPackConfig.cmake")])
        if not check(r.returncode == 0, "cpack -G DEB"):
            print(r.stdout, r.stderr)
            return
        deb = os.path.join(tmp, f"{PACKAGE}_{version(source_dir)}_amd64.deb")
        if not check(os.path.isfile(deb), f"package file {os.path.basename(deb)}"):
            print(os.listdir(tmp))
            return
        info = run(["dpkg-deb", "--field", deb, "Depends"]).stdout
        print(f"     Depends: {info.strip()}")
        for lib in ("libpq5", "libyaml-cpp0.7", "libprometheus-cpp-core1.0",
                    "libc6", "libstdc++6", "zlib1g"):
            check(re.search(rf"\b{re.escape(lib)} \(>=", info) is not None,
                  f"Depends has {lib} with a version (dpkg-shlibdeps)")

        r = run(["dpkg", "-i", deb])
        if not check(r.returncode == 0, "dpkg -i"):
            print(r.stdout, r.stderr)
            return
        files = [f for f in run(["dpkg", "-L", PACKAGE]).stdout.split("\n")
                 if f and os.path.isfile(f)]
        for want in ("/usr/bin/pgconn-agent",
                     "/usr/share/man/man1/pgconn-agent.1.gz",
                     "/lib/systemd/system/pgconn-agent.service",
                     "/etc/pgconn/pgconn.yml", "/etc/default/pgconn-agent",
                     "/usr/share/pgconn-agent/alerts/pgconn.rules.yml",
                     "/usr/share/pgconn-agent/dashboards/pgconn-connections.json",
                     "/usr/share/pgconn-agent/runbooks/PgconnTargetDown.md"):
            check(want in files, f"installs {want}")
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", PACKAGE]).stdout
        check("/etc/pgconn/pgconn.yml" in conffiles and
              "/etc/default/pgconn-agent" in conffiles,
              "the configuration files are conffiles")
        user = run(["getent", "passwd", "pgconn"]).stdout.strip().split(":")
        check(len(user) == 7 and user[6] == "/usr/sbin/nologin" and
              int(user[2]) < 1000, f"system user pgconn: {':'.join(user)}")
        st = os.stat("/etc/pgconn/pgconn.yml")
        group = run(["getent", "group", str(st.st_gid)]).stdout.split(":")[0]
        check(st.st_mode & 0o777 == 0o640 and group == "pgconn",
              f"pgconn.yml is 0640 root:pgconn ({oct(st.st_mode & 0o777)} "
              f"group {group})")

        unit = "/lib/systemd/system/pgconn-agent.service"
        r = run(["systemd-analyze", "verify", unit])
        check(r.returncode == 0 and "pgconn-agent.service" not in r.stderr,
              f"systemd-analyze verify {unit}: {r.stderr.strip() or 'clean'}")
        text = open(unit).read()
        for line in ("User=pgconn", "ProtectSystem=strict", "ProtectHome=yes",
                     "NoNewPrivileges=yes", "PrivateTmp=yes",
                     "CapabilityBoundingSet=\n",
                     "ExecReload=/bin/kill -HUP $MAINPID",
                     "EnvironmentFile=-/etc/default/pgconn-agent",
                     "Restart=on-failure",
                     "ExecStart=/usr/bin/pgconn-agent "
                     "--config.file=/etc/pgconn/pgconn.yml"):
            check(line in text, f"unit has {line.strip()}")

        pg = Postgres(tmp)
        env = dict(os.environ)
        env["DATABASE_URL"] = (f"postgresql://postgres@127.0.0.1:{pg.port}/"
                               "postgres?sslmode=disable")
        env["PGCONN_TARGET_NAME"] = "deb"
        # As the service runs it: the pgconn user, the installed config.
        agent = ["runuser", "-u", "pgconn", "--", "/usr/bin/pgconn-agent",
                 "--config.file=/etc/pgconn/pgconn.yml"]
        r = run(agent + ["--once"], env=env, timeout=60)
        check(r.returncode == 0 and
              re.search(r'^pgconn_up\{[^}]*target="deb"[^}]*\} 1$', r.stdout,
                        re.M) is not None,
              f"installed agent --once as pgconn: exit {r.returncode}, "
              "pgconn_up 1")
        if r.returncode != 0:
            print(r.stderr[-2000:])

        port = free_port()
        env["PGCONN_WEB_LISTEN_ADDRESS"] = f"127.0.0.1:{port}"
        server = subprocess.Popen(agent, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        healthy = False
        for _ in range(100):
            if run(["/usr/bin/pgconn-agent", "--health-check"], env=env,
                   timeout=10).returncode == 0:
                healthy = True
                break
            time.sleep(0.1)
        check(healthy, "--health-check exits 0 against the running agent")
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log = server.stderr.read()
        check("PGCONN_WEB_LISTEN_ADDRESS" in log,
              "the agent logs the PGCONN_ variable it used")
        r = run(["/usr/bin/pgconn-agent", "--health-check"], env=env,
                timeout=20)
        check(r.returncode == 1,
              f"--health-check exits 1 with no agent ({r.stderr.strip()})")

        r = run(["dpkg", "-P", PACKAGE])
        check(r.returncode == 0, "dpkg -P")
        left = [f for f in files if os.path.exists(f)]
        check(not left, f"no installed file left ({left})")
        check(not os.path.exists("/etc/pgconn"), "/etc/pgconn removed")
        check(run(["getent", "passwd", "pgconn"]).returncode != 0 and
              run(["getent", "group", "pgconn"]).returncode != 0,
              "purge removes the pgconn user and group")
    finally:
        if pg:
            pg.stop()
        if run(["dpkg-query", "-W", PACKAGE]).returncode == 0:
            run(["dpkg", "-P", PACKAGE])
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"deb_test: {len(failures)} failure(s)")


if __name__ == "__main__":
    main()
    sys.exit(1 if failures else 0)
