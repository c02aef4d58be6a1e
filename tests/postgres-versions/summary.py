#!/usr/bin/env python3
"""One line per PostgreSQL major of the version matrix, with its test count.

Reads what ctest ran (its JUnit file) and which tests carry which pgNN label
(ctest --show-only=json-v1), so scripts/test.sh can end with:

    PostgreSQL version matrix (integration tests against each server):
      PostgreSQL 14.23 (official build)   15 of 15 tests passed
      PostgreSQL 15 (Debian 12)           66 of 66 tests passed (the whole suite)
      ...

usage: summary.py SHOW_ONLY_JSON JUNIT_XML PACKAGE_JSON
"""
import json
import re
import sys
import xml.etree.ElementTree as ET

DEBIAN_MAJOR = 15  # Debian 12's PostgreSQL, /usr/lib/postgresql/15/bin


def main(show_only, junit, package):
    with open(show_only) as f:
        tests = json.load(f)["tests"]
    majors = {}  # test name -> major
    for t in tests:
        for p in t.get("properties", []):
            if p["name"] != "LABELS":
                continue
            for label in p["value"]:
                m = re.fullmatch(r"pg(\d+)", label)
                if m:
                    majors[t["name"]] = int(m.group(1))
                elif label == "integration":  # the whole suite, on Debian's
                    majors[t["name"]] = DEBIAN_MAJOR
    ran = {}  # test name -> passed
    for case in ET.parse(junit).getroot().iter("testcase"):
        status = case.get("status", "")
        failed = case.find("failure") is not None or status == "fail"
        skipped = case.find("skipped") is not None or status in ("notrun", "disabled")
        if skipped:
            continue
        ran[case.get("name")] = not failed
    with open(package) as f:
        deps = json.load(f)["dependencies"]
    versions = {}
    for alias, spec in deps.items():
        m = re.fullmatch(r"pg(\d+)", alias)
        v = re.search(r"@(\d+\.\d+)\.\d+", spec)
        if m and v:
            versions[int(m.group(1))] = v.group(1)
    counts = {}
    for name, passed in ran.items():
        if name in majors and "/pg_template_" not in name:
            total, ok = counts.get(majors[name], (0, 0))
            counts[majors[name]] = (total + 1, ok + (1 if passed else 0))
    print("PostgreSQL version matrix (integration tests against each server):")
    for major in sorted(set(counts) | set(versions) | {DEBIAN_MAJOR}):
        total, ok = counts.get(major, (0, 0))
        if major in versions:
            what = f"PostgreSQL {versions[major]} (official build)"
            scope = "version-sensitive subset"
        else:
            what = f"PostgreSQL {major} (Debian 12)"
            scope = "the whole suite"
        print(f"  {what:<36} {ok} of {total} tests passed ({scope})")


if __name__ == "__main__":
    main(*sys.argv[1:4])
