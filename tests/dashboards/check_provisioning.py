#!/usr/bin/python3
"""Checks the Grafana provisioning files in dashboards/provisioning/.

    check_provisioning.py [--root DIR]

dashboards.yml: apiVersion 1, a non-empty `providers` list, each with a name,
type "file" and options.path. datasources.yml: apiVersion 1 and at least one
data source of type "prometheus" with a url. Prints each problem and exits 1
if there is any. Needs python3-yaml (Debian package).
"""

import argparse
import os
import sys

import yaml


def check(root):
    errors = []
    base = os.path.join(root, "dashboards", "provisioning")

    def load(name):
        path = os.path.join(base, name)
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            errors.append(f"{name}: cannot read: {e}")
            return None
        if not isinstance(doc, dict):
            errors.append(f"{name}: not a YAML mapping")
            return None
        if doc.get("apiVersion") != 1:
            errors.append(f"{name}: apiVersion must be 1")
        return doc

    doc = load("dashboards.yml")
    if doc is not None:
        providers = doc.get("providers")
        if not isinstance(providers, list) or not providers:
            errors.append("dashboards.yml: needs a non-empty providers list")
            providers = []
        for k, p in enumerate(providers):
            where = f"dashboards.yml: provider {k}"
            if not isinstance(p, dict):
                errors.append(f"{where}: not a mapping")
                continue
            if not p.get("name"):
                errors.append(f"{where}: no name")
            if p.get("type") != "file":
                errors.append(f"{where}: type must be file")
            path = (p.get("options") or {}).get("path")
            if not isinstance(path, str) or not path:
                errors.append(f"{where}: options.path is required")

    doc = load("datasources.yml")
    if doc is not None:
        sources = doc.get("datasources")
        if not isinstance(sources, list):
            sources = []
        proms = [s for s in sources
                 if isinstance(s, dict) and s.get("type") == "prometheus"]
        if not proms:
            errors.append("datasources.yml: no data source of type "
                          "prometheus")
        for s in proms:
            if not s.get("name") or not s.get("url"):
                errors.append(f"datasources.yml: {s.get('name')!r} needs a "
                              "name and a url")
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--root",
        default=os.path.normpath(os.path.join(os.path.dirname(
            os.path.abspath(__file__)), "..", "..")))
    args = parser.parse_args()
    errors = check(args.root)
    for e in errors:
        print(e)
    if errors:
        return 1
    print("check_provisioning: dashboards.yml and datasources.yml are valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
