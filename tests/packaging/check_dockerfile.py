#!/usr/bin/env python3
"""Checks the Dockerfile by construction, since CI has no Docker engine.

  check_dockerfile.py DOCKERFILE PACKAGE_LIST AGENT_BINARY

- the runtime stage installs exactly one Debian package per shared library
  the Release binary needs (readelf NEEDED, resolved by ldd, owned per
  dpkg -S), less the ones the base image has, plus ca-certificates;
- the build stage installs only the build section of the package list, and
  builds what scripts/test.sh's Release pass builds;
- the group and the user exist with the same fixed id that USER names;
- a HEALTHCHECK in exec form runs the agent's own --health-check;
- the revision is a build argument in both stages, in the OCI label and in
  the cmake line.
Exit 1 with one line per problem.
"""
import functools
import json
import os
import re
import shlex
import subprocess
import sys

# In debian:bookworm-slim already (Priority: required/important).
BASE_IMAGE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}
# Not a library: the CA bundle libpq's sslmode=verify-full may use.
RUNTIME_EXTRAS = {"ca-certificates"}
RELEASE_FLAGS = ["-DCMAKE_BUILD_TYPE=Release", "-DPGCONN_WERROR=ON",
                 "-DPGCONN_BUILD_TESTS=OFF"]


def parse(text):
    """Stages as lists of (INSTRUCTION, argument) with continuations joined."""
    stages, logical, buf = [], [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append(buf + line)
        buf = ""
    for line in logical:
        instr, _, arg = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stages.append([])
        if not stages:
            continue
        stages[-1].append((instr, arg.strip()))
    return stages


def shell_words(arg):
    return shlex.split(arg.replace("&&", " && "))


def apt_packages(stage):
    pkgs = []
    for instr, arg in stage:
        if instr != "RUN":
            continue
        words = shell_words(arg)
        for i, w in enumerate(words):
            if w == "install" and i > 0 and words[i - 1] == "apt-get":
                for p in words[i + 1:]:
                    if p == "&&":
                        break
                    if not p.startswith("-"):
                        pkgs.append(p)
    return pkgs


@functools.lru_cache(maxsize=None)  # dpkg -S is slow; the mutation test asks often
def needed_packages(binary):
    out = subprocess.run(["readelf", "-d", binary], check=True,
                         capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    ldd = subprocess.run(["ldd", binary], check=True, capture_output=True,
                         text=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    owners, problems = {}, []
    for lib in needed:
        path = paths.get(lib)
        if path is None:
            problems.append(f"ldd does not resolve {lib}")
            continue
        candidates = [path, os.path.realpath(path)]
        if path.startswith("/lib/"):
            candidates.append("/usr" + path)
        owner = None
        for c in candidates:
            r = subprocess.run(["dpkg", "-S", c], capture_output=True,
                               text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0].strip()
                break
        if owner is None:
            problems.append(f"no Debian package owns {path} ({lib})")
        else:
            owners[lib] = owner
    return owners, problems


def package_sections(path):
    sections, current = {}, None
    for line in open(path):
        line = line.strip()
        m = re.match(r"# section: (\S+)", line)
        if m:
            current = m.group(1)
            sections.setdefault(current, set())
        elif line and not line.startswith("#") and current:
            sections[current].add(line.split()[0])
    return sections


def check(dockerfile_text, package_list, binary):
    problems = []
    stages = parse(dockerfile_text)
    if len(stages) < 2:
        return ["want a build stage and a runtime stage"]
    build, runtime = stages[0], stages[-1]

    # Runtime packages against the binary.
    owners, p = needed_packages(binary)
    problems += p
    want = set(owners.values()) - BASE_IMAGE_PACKAGES
    have = set(apt_packages(runtime))
    for pkg in sorted(want - have):
        libs = ", ".join(sorted(l for l, o in owners.items() if o == pkg))
        problems.append(f"runtime stage lacks {pkg} (for {libs})")
    for pkg in sorted(have - want - RUNTIME_EXTRAS):
        problems.append(f"runtime stage installs {pkg}, which no shared "
                        "library of the binary needs")
    for tool in ("curl", "wget"):
        if tool in have:
            problems.append(f"runtime stage installs {tool}")

    # Build stage: build dependencies only, the Release configuration.
    sections = package_sections(package_list)
    build_runs = " ".join(a for i, a in build if i == "RUN")
    if "install-deps.sh build" not in build_runs:
        problems.append("build stage does not run install-deps.sh build")
    if apt_packages(build):
        problems.append("build stage installs packages outside "
                        "install-deps.sh build")
    for other in ("tests", "packaging"):
        both = sections.get("build", set()) & sections.get(other, set())
        if both:
            problems.append(f"build section also lists {other} packages: "
                            f"{sorted(both)}")
    for tool in ("clang", "postgresql-15", "pgbouncer", "prometheus"):
        if tool in sections.get("build", set()):
            problems.append(f"build section installs {tool}")
    cmake = next((a for i, a in build if i == "RUN" and "cmake -S" in a), "")
    words = shell_words(cmake)
    for flag in RELEASE_FLAGS:
        if flag not in words:
            problems.append(f"build stage's cmake lacks {flag}")
    if "--target" not in words or "pgconn-agent" not in words:
        problems.append("build stage does not build --target pgconn-agent")
    if '-DPGCONN_REVISION=${PGCONN_REVISION}' not in words:
        problems.append("build stage's cmake does not pass PGCONN_REVISION")

    # Revision: an ARG in both stages, in the OCI label.
    for name, stage in (("build", build), ("runtime", runtime)):
        if not any(i == "ARG" and a.split("=")[0] == "PGCONN_REVISION"
                   for i, a in stage):
            problems.append(f"{name} stage has no ARG PGCONN_REVISION")
    labels = " ".join(a for i, a in runtime if i == "LABEL")
    if 'org.opencontainers.image.revision="${PGCONN_REVISION}"' not in labels:
        problems.append("no org.opencontainers.image.revision label from "
                        "PGCONN_REVISION")

    # The user: group and user with one fixed id, named by USER.
    runs = " && ".join(a for i, a in runtime if i == "RUN")
    gid = re.search(r"groupadd\b[^&]*--gid (\d+) (\S+)", runs)
    uid = re.search(r"useradd\b[^&]*--uid (\d+)[^&]*--gid (\d+)", runs)
    user = [a for i, a in runtime if i == "USER"]
    if not gid:
        problems.append("runtime stage creates no group with a fixed --gid")
    if not uid:
        problems.append("runtime stage creates no user with fixed --uid and "
                        "--gid")
    if gid and uid and gid.group(1) != uid.group(2):
        problems.append(f"useradd --gid {uid.group(2)} is not the group's "
                        f"gid {gid.group(1)}")
    if not user:
        problems.append("runtime stage has no USER")
    elif gid and uid:
        want_user = f"{uid.group(1)}:{gid.group(1)}"
        if user[-1] != want_user:
            problems.append(f"USER {user[-1]} is not {want_user}")

    # Health check: exec form, the installed binary's own probe.
    copies = [a.split()[-1] for i, a in runtime if i == "COPY"]
    checks = [a for i, a in runtime if i == "HEALTHCHECK"]
    if not checks:
        problems.append("runtime stage has no HEALTHCHECK")
    else:
        cmd = checks[-1].split("CMD", 1)
        try:
            argv = json.loads(cmd[1]) if len(cmd) == 2 else None
        except json.JSONDecodeError:
            argv = None
        if not isinstance(argv, list):
            problems.append("HEALTHCHECK is not CMD [\"...\"] exec form "
                            "(the image has no need of a shell)")
        elif argv[0] not in copies or "--health-check" not in argv[1:]:
            problems.append(f"HEALTHCHECK {argv} does not run the copied "
                            "agent with --health-check")
    entry = [a for i, a in runtime if i == "ENTRYPOINT"]
    if not entry or json.loads(entry[-1])[0] not in copies:
        problems.append("ENTRYPOINT is not the copied agent")
    if not any(i == "EXPOSE" and a == "9188" for i, a in runtime):
        problems.append("runtime stage does not EXPOSE 9188")
    return problems


def main():
    dockerfile, package_list, binary = sys.argv[1:4]
    # scripts/test.sh's Release build, the Dockerfile's own configuration.
    binary = os.environ.get("PGCONN_RELEASE_AGENT") or binary
    print(f"check_dockerfile: binary {binary}")
    problems = check(open(dockerfile).read(), package_list, binary)
    for p in problems:
        print(f"{dockerfile}: {p}")
    if problems:
        sys.exit(1)
    print(f"check_dockerfile: {dockerfile} is consistent with the binary")


if __name__ == "__main__":
    main()
