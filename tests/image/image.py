#!/usr/bin/python3
"""The container image from the repository's Dockerfile, built without a
Docker engine: podman as root with chroot isolation, on a debian:bookworm-slim
made from the Debian archive with mmdebstrap.

  image.py build [--out DIR]   make (or reuse) the base, build the image, and
                               copy its agent binary to DIR/pgconn-agent
  image.py env                 print the variables that point podman and
                               buildah at this storage (for a shell: eval)

Everything lives under CACHE = $PGCONN_IMAGE_CACHE, else
${XDG_CACHE_HOME:-~/.cache}/pgconn/image, outside the checkout, so that runs
and clones share it:
  base-<key>.tar   the base root filesystem; <key> hashes what makes it (the
                   Debian sources apt uses here, mmdebstrap's options and
                   version), so a change of mirror or package set makes a
                   new one and the old one is deleted;
  containers/      podman's storage, with its own storage.conf and
                   containers.conf (CONTAINERS_STORAGE_CONF, CONTAINERS_CONF):
                   nothing under /etc/containers is written, and no global
                   setting is needed. Layers persist, so a rerun rebuilds
                   only what changed;
  ccache/          the build stage's compiler cache (podman build -v).
A lock file serializes builds that share the cache.
"""
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
SUITE = "bookworm"
BASE_TAGS = ["docker.io/library/debian:bookworm-slim",
             "docker.io/library/debian:bookworm"]
IMAGE = "localhost/pgconn-agent"
BUILD_STAGE = "localhost/pgconn-agent-build:cache"

# Like the published debian:bookworm-slim (debuerreotype's --slim): no
# documentation but the copyright files, no man or info pages, no locales
# but locale.alias; dpkg keeps excluding them for every package installed
# later (/etc/dpkg/dpkg.cfg.d/99mmdebstrap), and apt keeps its indexes
# compressed and fetches no translations. mmdebstrap deletes the package
# lists and apt's caches at the end. merged-usr without the usrmerge
# package (and the perl it pulls in), as the published image has it.
MMDEBSTRAP_OPTIONS = [
    "--variant=minbase",
    "--format=tar",
    "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    "--dpkgopt=path-exclude=/usr/share/groff/*",
    "--dpkgopt=path-exclude=/usr/share/lintian/overrides/*",
    "--dpkgopt=path-exclude=/usr/share/linda/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-include=/usr/share/locale/locale.alias",
    '--aptopt=Acquire::Languages "none"',
    '--aptopt=Acquire::GzipIndexes "true"',
]


class ImageError(Exception):
    pass


def log(msg):
    print(f"[image] {msg}", flush=True)


def cache_dir():
    d = os.environ.get("PGCONN_IMAGE_CACHE")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        d = os.path.join(base, "pgconn", "image")
    os.makedirs(d, exist_ok=True)
    return d


def _deb822_stanzas(text):
    stanza = {}
    key = None
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, None
        elif line[0] in " \t" and key:
            stanza[key] += " " + line.strip()
        else:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            stanza[key] = value.strip()


def _one_line_entries(text):
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        words = line.split()[1:]
        options = {}
        if words and words[0].startswith("["):
            opts = []
            while words:
                w = words.pop(0)
                opts.append(w.strip("[]"))
                if w.endswith("]"):
                    break
            for o in " ".join(opts).split():
                k, _, v = o.partition("=")
                options[k.lower()] = v
        if len(words) >= 3:
            yield {"types": "deb", "uris": words[0], "suites": words[1],
                   "components": " ".join(words[2:]),
                   "signed-by": options.get("signed-by", "")}


def debian_sources(root="/etc/apt"):
    """The Debian bookworm sources apt uses on this machine, as one deb822
    text (main only): the only network the base image may use."""
    entries = []
    files = [os.path.join(root, "sources.list")] + sorted(
        glob.glob(os.path.join(root, "sources.list.d", "*.list")) +
        glob.glob(os.path.join(root, "sources.list.d", "*.sources")))
    for path in files:
        if not os.path.isfile(path):
            continue
        text = open(path).read()
        found = (_deb822_stanzas(text) if path.endswith(".sources")
                 else _one_line_entries(text))
        for e in found:
            if e.get("enabled", "yes").lower() == "no":
                continue
            if "deb" not in e.get("types", "").split():
                continue
            suites = [s for s in e.get("suites", "").split()
                      if re.fullmatch(SUITE + r"(-updates|-security)?", s)]
            if not suites or "main" not in e.get("components", "").split():
                continue
            entries.append((e["uris"].split(), suites, e.get("signed-by", "")))
    if not entries:
        raise ImageError(f"no Debian {SUITE} source with component main in "
                         f"{root}/sources.list or {root}/sources.list.d/")
    out = []
    for uris, suites, signed_by in entries:
        out.append("Types: deb\nURIs: " + " ".join(uris) + "\nSuites: " +
                   " ".join(suites) + "\nComponents: main\n" +
                   (f"Signed-By: {signed_by}\n" if signed_by else ""))
    return "\n".join(out)


def mmdebstrap_version():
    r = subprocess.run(["mmdebstrap", "--version"], capture_output=True,
                       text=True, check=True)
    return r.stdout.strip()


def base_key(sources):
    what = json.dumps([SUITE, sources, MMDEBSTRAP_OPTIONS,
                       mmdebstrap_version()])
    return hashlib.sha256(what.encode()).hexdigest()[:16]


def podman_env(cache):
    """Writes our own storage.conf and containers.conf; returns the
    environment that makes podman and buildah use them."""
    store = os.path.join(cache, "containers")
    os.makedirs(store, exist_ok=True)
    run = os.path.join(store, "run")
    storage = os.path.join(store, "storage.conf")
    containers = os.path.join(store, "containers.conf")
    want_storage = (
        "# Written by tests/image/image.py: podman's storage for pgconn's\n"
        "# image tests, apart from the machine's.\n"
        f'[storage]\ndriver = "overlay"\ngraphroot = "{store}/graph"\n'
        f'runroot = "{run}"\n')
    # No systemd here (nor in CI): cgroupfs and a file for events; libpod's
    # state in our directory, not /run/libpod.
    want_containers = (
        "# Written by tests/image/image.py.\n"
        '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
        f'events_logfile_path = "{run}/events.log"\n'
        f'tmp_dir = "{run}/libpod"\n')
    for path, text in ((storage, want_storage), (containers, want_containers)):
        if not os.path.exists(path) or open(path).read() != text:
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
    env = dict(os.environ)
    env["CONTAINERS_STORAGE_CONF"] = storage
    env["CONTAINERS_CONF"] = containers
    # buildah reads the same storage.conf; its own isolation default.
    env["BUILDAH_ISOLATION"] = "chroot"
    return env


def run(cmd, env, **kw):
    r = subprocess.run(cmd, env=env, text=True, capture_output=True, **kw)
    if r.returncode != 0:
        raise ImageError(f"{' '.join(cmd[:3])} ... failed ({r.returncode}):\n"
                         f"{r.stdout[-4000:]}{r.stderr[-4000:]}")
    return r.stdout


def ensure_base(cache, env):
    """The base tarball (made once per key) imported as debian:bookworm-slim
    and debian:bookworm. Returns (key, seconds spent)."""
    start = time.monotonic()
    sources = debian_sources()
    key = base_key(sources)
    tar = os.path.join(cache, f"base-{key}.tar")
    if not os.path.exists(tar):
        log(f"making the base root filesystem (mmdebstrap, key {key})")
        src = os.path.join(cache, "debian.sources")
        with open(src, "w") as f:
            f.write(sources)
        tmp = tar + ".tmp"
        run(["mmdebstrap", *MMDEBSTRAP_OPTIONS, SUITE, tmp, src], env)
        os.replace(tmp, tar)
        for old in glob.glob(os.path.join(cache, "base-*.tar")):
            if old != tar:
                os.remove(old)
    marker = os.path.join(cache, "containers", "base-imported")
    imported = open(marker).read() if os.path.exists(marker) else ""
    exists = subprocess.run(["podman", "image", "exists", BASE_TAGS[0]],
                            env=env).returncode == 0
    if imported != key or not exists:
        log(f"importing {tar} as {', '.join(BASE_TAGS)}")
        run(["podman", "import", "--change", 'CMD ["bash"]', tar,
             BASE_TAGS[0]], env)
        for tag in BASE_TAGS[1:]:
            run(["podman", "tag", BASE_TAGS[0], tag], env)
        with open(marker, "w") as f:
            f.write(key)
    return key, time.monotonic() - start


def revision():
    r = subprocess.run(["git", "-C", SOURCE_DIR, "rev-parse", "--short=12",
                        "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else "unknown"


def build(out_dir=None):
    """Builds the image; returns a dict with the tag, revision, timings and
    (with out_dir) the path of the copied agent binary."""
    for tool in ("podman", "buildah", "mmdebstrap"):
        if shutil.which(tool) is None:
            raise ImageError(f"{tool} not found (Debian package {tool}, "
                             "scripts/debian-packages.txt)")
    if os.geteuid() != 0:
        raise ImageError("building the image needs root (podman with chroot "
                         "isolation)")
    cache = cache_dir()
    env = podman_env(cache)
    ccache = os.path.join(cache, "ccache")
    os.makedirs(ccache, exist_ok=True)
    conf = os.path.join(ccache, "ccache.conf")
    if not os.path.exists(conf):
        with open(conf, "w") as f:
            f.write("max_size = 2G\n")
    rev = revision()
    tag = f"{IMAGE}:{rev}"
    with open(os.path.join(cache, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key, base_seconds = ensure_base(cache, env)
        common = ["podman", "build", "--isolation=chroot", "--pull=never",
                  "--network=host", "--format", "docker", "--layers",
                  "-v", f"{ccache}:/ccache",
                  "--build-arg", f"PGCONN_REVISION={rev}",
                  "-f", os.path.join(SOURCE_DIR, "Dockerfile")]
        start = time.monotonic()
        # The build stage under a tag of its own, so that pruning the
        # dangling layers of earlier builds keeps its package layer.
        log(f"podman build --target build ({rev})")
        run(common + ["--target", "build", "-t", BUILD_STAGE, SOURCE_DIR], env)
        build_seconds = time.monotonic() - start
        log(f"podman build ({tag})")
        run(common + ["-t", tag, "-t", f"{IMAGE}:latest", SOURCE_DIR], env)
        total = time.monotonic() - start
        # Earlier revisions' tags go, so that the store does not grow with
        # every commit; their layers are pruned with the dangling ones.
        names = run(["podman", "images", "--format",
                     "{{.Repository}}:{{.Tag}}", IMAGE], env).split()
        old = [n for n in names if n not in (tag, f"{IMAGE}:latest")]
        for name in old:
            # A name of an image that also has a current name only loses
            # that name.
            run(["podman", "rmi", name], env)
        run(["podman", "image", "prune", "-f"], env)
        result = {"tag": tag, "revision": rev, "base_key": key,
                  "base_seconds": round(base_seconds, 1),
                  "build_stage_seconds": round(build_seconds, 1),
                  "build_seconds": round(total, 1)}
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            mnt = run(["podman", "image", "mount", tag], env).strip()
            try:
                dst = os.path.join(out_dir, "pgconn-agent")
                shutil.copy2(os.path.join(mnt, "usr/local/bin/pgconn-agent"),
                             dst + ".tmp")
                os.replace(dst + ".tmp", dst)
                result["agent"] = dst
            finally:
                run(["podman", "image", "unmount", tag], env)
            with open(os.path.join(out_dir, "image.json"), "w") as f:
                json.dump(result, f, indent=1)
    log(f"built {tag}: base {result['base_seconds']} s, build stage "
        f"{result['build_stage_seconds']} s, image {result['build_seconds']} s")
    return result


def main(argv):
    if len(argv) >= 2 and argv[1] == "build":
        out = None
        if len(argv) == 4 and argv[2] == "--out":
            out = argv[3]
        elif len(argv) != 2:
            print(__doc__, file=sys.stderr)
            return 2
        build(out)
        return 0
    if len(argv) == 2 and argv[1] == "env":
        env = podman_env(cache_dir())
        for k in ("CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF",
                  "BUILDAH_ISOLATION"):
            print(f"export {k}={env[k]}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except ImageError as e:
        print(f"[image] FAIL: {e}", file=sys.stderr)
        sys.exit(1)
