#!/usr/bin/env python3
"""`cmake --install` into a temporary prefix puts every file in its place,
and the documented link substitution rewrites the installed rule files and
dashboards (never the sources).

  install_test.py BUILD_DIR SOURCE_DIR
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

UPSTREAM = "https://github.com/pgconn/pgconn/blob/main/docs/"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import check, failures  # noqa: E402


def urls(path):
    return re.findall(r"https?://[^\s\"')\]]+", open(path).read())


def main():
    build, source = sys.argv[1:3]
    prefix = tempfile.mkdtemp(prefix="pgconn-install-test-")
    try:
        r = subprocess.run(["cmake", "--install", build, "--prefix", prefix],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"cmake --install --prefix {prefix}")
        if r.returncode:
            print(r.stdout, r.stderr)
            return
        share = f"{prefix}/share/pgconn-agent"
        for rel in ("bin/pgconn-agent", "share/man/man1/pgconn-agent.1.gz",
                    "etc/pgconn/pgconn.yml", "etc/default/pgconn-agent",
                    "lib/systemd/system/pgconn-agent.service",
                    "share/doc/pgconn-agent/README.md",
                    "share/doc/pgconn-agent/metrics.md",
                    "share/pgconn-agent/examples/prometheus-scrape.example.yml",
                    "share/pgconn-agent/dashboards/provisioning/dashboards.yml"):
            check(os.path.isfile(f"{prefix}/{rel}"), f"installs {rel}")
        for kind, pattern in (("alerts", "alerts/*.yml"),
                              ("dashboards", "dashboards/*.json"),
                              ("runbooks", "docs/runbooks/*.md")):
            want = sorted(os.path.basename(p)
                          for p in glob.glob(f"{source}/{pattern}"))
            have = sorted(os.path.basename(p)
                          for p in glob.glob(f"{share}/{kind}/*.*"))
            check(want and want == have, f"{kind}: {len(have)} files, as in "
                  f"the sources")
        # A prefix other than /usr keeps /etc and the unit under it.
        unit = open(f"{prefix}/lib/systemd/system/pgconn-agent.service").read()
        check(f"ExecStart={prefix}/bin/pgconn-agent "
              f"--config.file={prefix}/etc/pgconn/pgconn.yml" in unit,
              "the unit names the installed binary and configuration")
        man = subprocess.run(["zcat", f"{prefix}/share/man/man1/"
                              "pgconn-agent.1.gz"], capture_output=True,
                             text=True).stdout
        check("listen\\-address" in man and "health\\-check" in man,
              "the man page has the flags of --help")
        # Default bases: the installed copies equal the sources.
        for f in glob.glob(f"{source}/alerts/*.yml"):
            check(open(f).read() ==
                  open(f"{share}/alerts/{os.path.basename(f)}").read(),
                  f"default install keeps {os.path.basename(f)} as it is")

        # The substitution, run as `cmake --install` runs it.
        docs, runbooks = "https://wiki.example/pg/docs/", "https://wiki.example/rb/"
        sub = f"{prefix}/sub"
        r = subprocess.run(
            ["cmake", f"-DCMAKE_INSTALL_PREFIX={sub}", f"-Ddocs_base={docs}",
             f"-Drunbook_base={runbooks}", "-P",
             f"{build}/install_system_files.cmake"],
            capture_output=True, text=True)
        check(r.returncode == 0, "install_system_files.cmake with new bases")
        installed = (glob.glob(f"{sub}/share/pgconn-agent/alerts/*.yml") +
                     glob.glob(f"{sub}/share/pgconn-agent/dashboards/*.json"))
        check(len(installed) >= 4, f"{len(installed)} rule files and "
              "dashboards rewritten")
        runbook_links = 0
        for f in installed:
            bad = []
            for u in urls(f):
                if u.startswith(UPSTREAM):
                    bad.append(f"upstream link {u}")
                elif u.startswith(runbooks):
                    runbook_links += 1
                    if not os.path.isfile(f"{source}/docs/runbooks/"
                                          f"{u[len(runbooks):]}"):
                        bad.append(f"{u} names no runbook")
                elif u.startswith(docs):
                    if not os.path.isfile(f"{source}/docs/"
                                          f"{u[len(docs):].split('#')[0]}"):
                        bad.append(f"{u} names no doc")
            check(not bad, f"{os.path.basename(f)}: every link uses the new "
                  f"bases and names a file {bad}")
        rules_runbooks = sum(
            len(re.findall(r"runbook_url:", open(f).read()))
            for f in glob.glob(f"{source}/alerts/*.yml"))
        check(runbook_links >= rules_runbooks > 0,
              f"{runbook_links} links use the runbook base "
              f"(the rules have {rules_runbooks} runbook_url)")
        check(any(UPSTREAM in open(f).read()
                  for f in glob.glob(f"{source}/alerts/*.yml")),
              "the sources keep the upstream links")
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
    print(f"install_test: {len(failures)} failure(s)")


if __name__ == "__main__":
    main()
    sys.exit(1 if failures else 0)
