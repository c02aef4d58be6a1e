#!/usr/bin/env python3
"""The Dockerfile checker finds each mistake it is meant to find: the real
Dockerfile passes, and each broken copy fails with the expected message.

  test_check_dockerfile.py DOCKERFILE PACKAGE_LIST AGENT_BINARY
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_dockerfile  # noqa: E402

MUTATIONS = [
    ("libpq5 ", "", "runtime stage lacks libpq5"),
    ("zlib1g ca-certificates", "zlib1g ca-certificates postgresql-client",
     "installs postgresql-client, which no shared library"),
    ("zlib1g ca-certificates", "zlib1g ca-certificates curl",
     "runtime stage installs curl"),
    ("install-deps.sh build", "install-deps.sh",
     "does not run install-deps.sh build"),
    ("-DPGCONN_WERROR=ON", "", "lacks -DPGCONN_WERROR=ON"),
    ("--target pgconn-agent", "--target all",
     "does not build --target pgconn-agent"),
]


def main():
    dockerfile, package_list, binary = sys.argv[1:4]
    binary = os.environ.get("PGCONN_RELEASE_AGENT") or binary
    text = open(dockerfile).read()
    failures = []
    real = check_dockerfile.check(text, package_list, binary)
    if real:
        failures.append(f"the real Dockerfile fails: {real}")
    for old, new, want in MUTATIONS:
        if old not in text:
            failures.append(f"mutation source not found: {old!r}")
            continue
        problems = check_dockerfile.check(text.replace(old, new, 1),
                                          package_list, binary)
        if not any(want in p for p in problems):
            failures.append(f"{old!r} -> {new!r}: want {want!r}, got "
                            f"{problems}")
    for f in failures:
        print(f)
    print(f"test_check_dockerfile: {len(MUTATIONS)} mutations, "
          f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
