#!/usr/bin/python3
"""The container image, built from the repository's Dockerfile and run.

  image_test.py

$PGCONN_IMAGE_INFO names what `image.py build --out DIR` wrote
(scripts/test.sh builds the image before the tests); without it, or when
that image is gone, the test builds it (tests/image/image.py: cached, so
only what changed).

Then, as root, against a real PostgreSQL that requires a password
(scram-sha-256) from 127.0.0.1:
  - the image's metadata: USER 10001:10001, the HEALTHCHECK (Docker format
    keeps it), ENTRYPOINT, EXPOSE 9188, the OCI labels with the revision,
    and its size over the base image (under 60 MB);
  - `buildah run --isolation=chroot --user 10001:10001` of the image's own
    ENTRYPOINT on the host network, configured only through the
    environment: DB_HOST/DB_PORT/DB_USER/DB_NAME, the password from a
    mounted file (DB_PASSWORD_FILE), PGCONN_WEB_LISTEN_ADDRESS,
    PGCONN_POLL_INTERVAL and PGCONN_TARGET_NAME. /metrics must show
    pgconn_up 1, exactly the sessions the test opened, by application, and
    pgconn_build_info with the image's revision; the process must run as
    uid 10001;
  - the image's HEALTHCHECK command, run the same way: exit 0 against the
    running agent, 1 against a port where nothing listens;
  - the same image with postgres_exporter's variables instead
    (DATA_SOURCE_URI, DATA_SOURCE_USER, DATA_SOURCE_PASS_FILE).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import image  # noqa: E402
import harness as e2e  # noqa: E402  (PostgreSQL, sessions)

Failure = e2e.Failure
MAX_OVER_BASE = 60 * 1000 * 1000  # bytes, as podman counts sizes
UID = 10001
PASSWORD = "image-test-pw"
SESSIONS = {"billing-worker": 3, "report bot": 2}


def log(msg):
    print(f"[image_test] {msg}", flush=True)


def podman_json(env, *args):
    out = subprocess.run(["podman", *args], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def check_metadata(env, info):
    problems = []
    [img] = podman_json(env, "image", "inspect", info["tag"])
    [base] = podman_json(env, "image", "inspect", image.BASE_TAGS[0])
    cfg = img["Config"]
    if cfg.get("User") != f"{UID}:{UID}":
        problems.append(f"USER is {cfg.get('User')!r}, want {UID}:{UID}")
    # Only Docker's format has a health check (OCI's image config has none).
    if "docker" not in img.get("ManifestType", ""):
        problems.append(f"manifest {img.get('ManifestType')}, want Docker's")
    health = img.get("Healthcheck") or {}
    if health.get("Test") != ["CMD", "/usr/local/bin/pgconn-agent",
                              "--health-check"]:
        problems.append(f"HEALTHCHECK is {health!r}")
    if cfg.get("Entrypoint") != ["/usr/local/bin/pgconn-agent"]:
        problems.append(f"ENTRYPOINT is {cfg.get('Entrypoint')!r}")
    if "9188/tcp" not in (cfg.get("ExposedPorts") or {}):
        problems.append(f"EXPOSE is {cfg.get('ExposedPorts')!r}")
    labels = cfg.get("Labels") or {}
    if labels.get("org.opencontainers.image.revision") != info["revision"]:
        problems.append(f"revision label {labels!r}, want {info['revision']}")
    for key in ("org.opencontainers.image.title",
                "org.opencontainers.image.source"):
        if not labels.get(key):
            problems.append(f"no {key} label")
    over = img["Size"] - base["Size"]
    log(f"image {img['Size'] / 1e6:.1f} MB, base {base['Size'] / 1e6:.1f} MB, "
        f"{over / 1e6:.1f} MB over the base (limit {MAX_OVER_BASE / 1e6:.0f})")
    if over >= MAX_OVER_BASE:
        problems.append(f"{over / 1e6:.1f} MB over the base image")
    if problems:
        raise Failure("image metadata: " + "; ".join(problems))
    return health["Test"][1:], cfg["Entrypoint"]


class Container:
    """A working container of the image (buildah from) whose commands run
    with chroot isolation on the host network, as uid 10001."""

    def __init__(self, env, tag, mounts):
        self.env = env
        self.mounts = mounts
        self.name = f"pgconn-image-test-{os.getpid()}"
        subprocess.run(["buildah", "rm", self.name], env=env,
                       capture_output=True)
        subprocess.run(["buildah", "from", "--pull=never", "--name",
                        self.name, tag], env=env, check=True,
                       capture_output=True)
        self.procs = []

    def command(self, argv, variables):
        cmd = ["buildah", "run", "--isolation=chroot", "--network=host",
               "--user", f"{UID}:{UID}"]
        for host, inside in self.mounts:
            cmd += ["-v", f"{host}:{inside}:ro"]
        for k, v in variables.items():
            cmd += ["--env", f"{k}={v}"]
        return cmd + [self.name, "--"] + argv

    def start(self, argv, variables, log_path):
        out = open(log_path, "w")
        p = subprocess.Popen(self.command(argv, variables), env=self.env,
                             stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs.append((p, out))
        return p

    def run(self, argv, variables):
        return subprocess.run(self.command(argv, variables), env=self.env,
                              capture_output=True, text=True, timeout=60)

    def stop(self, p):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def remove(self):
        for p, out in self.procs:
            self.stop(p)
            out.close()
        subprocess.run(["buildah", "rm", self.name], env=self.env,
                       capture_output=True)


def agent_uids(pgid):
    """uids of the pgconn-agent processes in process group pgid."""
    uids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != pgid:
                continue
            with open(f"/proc/{pid}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except (OSError, ValueError):
            continue
        if status.get("Name", "").strip() == "pgconn-agent":
            uids.append(int(status["Uid"].split()[0]))
    return uids


def scrape(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                    timeout=2) as r:
            return r.read().decode()
    except OSError:
        return ""


def samples(text, name):
    """{labels text: value} of one metric family's samples."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            out[key[len(name):]] = float(value)
    return out


def connections(text, target):
    """{(application, state): n} of the target, zeros left out."""
    got = {}
    for labels, v in samples(text, "pgconn_connections").items():
        if f'target="{target}"' not in labels or v == 0:
            continue
        app = labels.split('application="', 1)[1].split('"', 1)[0]
        state = labels.split('state="', 1)[1].split('"', 1)[0]
        got[(app, state)] = v
    return got


def wait_up(port, target, timeout=60):
    def up():
        s = samples(scrape(port), "pgconn_up")
        return s.get(f'{{target="{target}"}}') == 1
    e2e.eventually(f"pgconn_up{{target={target!r}}} 1 from the image", up,
                   timeout=timeout)


def main(argv):
    started = time.monotonic()
    info = None
    given = os.environ.get("PGCONN_IMAGE_INFO")
    if given and os.path.exists(given):
        with open(given) as f:
            info = json.load(f)
    env = image.podman_env(image.cache_dir())
    if info is None or subprocess.run(
            ["podman", "image", "exists", info["tag"]], env=env).returncode:
        info = image.build()
    log(f"image {info['tag']}")
    health_argv, entrypoint = check_metadata(env, info)

    root = tempfile.mkdtemp(prefix="pgconn-image-")
    os.chmod(root, 0o755)
    pg = container = None
    sessions = []
    try:
        pg = e2e.Postgres(root)
        # Password authentication for the monitoring role over TCP, so the
        # agent connects only if it read the mounted file.
        hba = os.path.join(pg.dir, "data", "pg_hba.conf")
        with open(hba) as f:
            rules = f.read()
        with open(hba, "w") as f:
            f.write("host all monitor 127.0.0.1/32 scram-sha-256\n" + rules)
        pg.start()
        pg.sql(f"CREATE ROLE monitor LOGIN PASSWORD '{PASSWORD}' "
               "IN ROLE pg_monitor")
        secret = os.path.join(root, "pgpass")
        with open(secret, "w") as f:
            f.write(PASSWORD + "\n")
        os.chown(secret, UID, UID)
        os.chmod(secret, 0o400)
        for app, n in SESSIONS.items():
            sessions += [e2e.Session(pg, app) for _ in range(n)]

        container = Container(env, info["tag"],
                              [(secret, "/run/secrets/pgconn-password")])
        port = e2e.free_port()
        variables = {
            "DB_HOST": "127.0.0.1", "DB_PORT": str(pg.port),
            "DB_USER": "monitor", "DB_NAME": "postgres",
            "DB_PASSWORD_FILE": "/run/secrets/pgconn-password",
            "PGCONN_WEB_LISTEN_ADDRESS": f"127.0.0.1:{port}",
            "PGCONN_POLL_INTERVAL": "500ms",
            "PGCONN_TARGET_NAME": "orders",
        }
        agent = container.start(entrypoint, variables,
                                os.path.join(root, "agent.log"))
        wait_up(port, "orders")
        want = {(app, "idle"): float(n) for app, n in SESSIONS.items()}
        want[("pgconn-agent", "active")] = 1.0
        e2e.eventually(
            f"the test's sessions by application: {want}",
            lambda: connections(scrape(port), "orders") == want, timeout=30)
        build = samples(scrape(port), "pgconn_build_info")
        if not any(f'revision="{info["revision"]}"' in k for k in build):
            raise Failure(f"pgconn_build_info {build}, want revision "
                          f"{info['revision']}")
        uids = agent_uids(agent.pid)
        if uids != [UID]:
            raise Failure(f"the agent runs as uid {uids}, want [{UID}]")
        log(f"agent from the image: pgconn_up 1, connections {want}, uid "
            f"{UID} ({time.monotonic() - started:.1f} s)")

        # The HEALTHCHECK, as a container engine runs it: same environment.
        ok = container.run(health_argv, variables)
        if ok.returncode != 0:
            raise Failure(f"--health-check exit {ok.returncode}: "
                          f"{ok.stdout}{ok.stderr}")
        down = dict(variables,
                    PGCONN_WEB_LISTEN_ADDRESS=f"127.0.0.1:{e2e.free_port()}")
        bad = container.run(health_argv, down)
        if bad.returncode != 1:
            raise Failure(f"--health-check against a closed port: exit "
                          f"{bad.returncode}, want 1")
        container.stop(agent)

        # postgres_exporter's variables, the password from the same file.
        port = e2e.free_port()
        agent = container.start(entrypoint, {
            "DATA_SOURCE_URI": f"127.0.0.1:{pg.port}/postgres?sslmode=disable",
            "DATA_SOURCE_USER": "monitor",
            "DATA_SOURCE_PASS_FILE": "/run/secrets/pgconn-password",
            "PGCONN_WEB_LISTEN_ADDRESS": f"127.0.0.1:{port}",
            "PGCONN_POLL_INTERVAL": "500ms",
        }, os.path.join(root, "agent-data-source.log"))
        wait_up(port, f"127.0.0.1:{pg.port}/postgres")
        log(f"PASS in {time.monotonic() - started:.1f} s")
        return 0
    except (Failure, subprocess.CalledProcessError, image.ImageError) as e:
        print(f"[image_test] FAIL: {e}", file=sys.stderr)
        for name in ("agent.log", "agent-data-source.log"):
            e2e.print_tail(os.path.join(root, name), name)
        return 1
    finally:
        if container is not None:
            container.remove()
        for s in sessions:
            s.close()
        if pg is not None:
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (Failure, image.ImageError) as e:
        print(f"[image_test] FAIL: {e}", file=sys.stderr)
        sys.exit(1)
