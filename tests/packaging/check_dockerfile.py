#!/usr/bin/env python3
"""Checks what building and running the image cannot show.

  check_dockerfile.py DOCKERFILE PACKAGE_LIST AGENT_BINARY

CI builds the image from the Dockerfile and runs it (tests/image): that
proves the runtime stage has every library the agent needs, the user, the
HEALTHCHECK, the entry point and the labels. What a working image does not
prove, this checks:
- the runtime stage installs nothing more than one Debian package per
  shared library the binary needs (readelf NEEDED, resolved by ldd, owned
  per dpkg -S; less the ones the base image has, plus ca-certificates), and
  no curl or wget;
- the build stage installs only the build section of the package list
  (which holds no test or packaging tool), and builds the shipped
  configuration: Release, warnings as errors, no tests, the agent only.
AGENT_BINARY is the image's own (PGCONN_RELEASE_AGENT, which scripts/test.sh
copies out of the image) when set. Exit 1 with one line per problem.
"""
import functools
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
    if not any(a == "--target" and b == "pgconn-agent"
               for a, b in zip(words, words[1:])):
        problems.append("build stage does not build --target pgconn-agent")

    return problems


def main():
    dockerfile, package_list, binary = sys.argv[1:4]
    # The image's binary (scripts/test.sh copies it out of the image).
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
