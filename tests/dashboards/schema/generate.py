#!/usr/bin/python3
"""Writes, for each Grafana dashboard, a TypeScript file that type-checks it
against Grafana's published types (@grafana/schema).

    generate.py --schema DIR --out DIR DASHBOARD.json...

DIR given to --schema is the installed package (node_modules/@grafana/schema).
For each dashboard, OUT/<file stem>.ts assigns
  * the whole dashboard to JsonOf<Dashboard>;
  * each panel's "options" to JsonOf<Options> of its panel type;
  * each panel's "fieldConfig.defaults.custom" to JsonOf<FieldConfig> of its
    panel type (Record<string, never> for a type without custom field config);
  * each panel's "links" to DataLink[] of the package's v2beta1 dashboard
    schema: the v1 Panel type declares them as dashboard links (with
    asDropdown, tags, ...), which is not what Grafana saves for a panel, so
    they are taken out of the dashboard literal and checked on their own;
  * each Prometheus query (panel targets, annotations) to the Prometheus
    data source's own types (schema/prometheus.ts): the package types a
    panel target as any record and an annotation's target as a bare
    DataQuery, so these too are taken out and checked on their own;
and OUT/tsconfig.json compiles them all with --strict. An object literal
assigned to a declared type gets TypeScript's excess property check, so an
unknown or misspelt option fails; a value of the wrong type or outside an
enum fails too. Rows and the panels nested in collapsed rows are included.

A panel type that neither the package nor schema/ (this folder) describes is
an error, so a new panel type cannot go unchecked. Standard library only.
"""

import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Panel type id -> folder under dist/types/raw/composable of @grafana/schema.
PACKAGE_PANELS = {
    "timeseries": "timeseries",
    "stat": "stat",
    "gauge": "gauge",
    "table": "table",
    "bargauge": "bargauge",
    "text": "text",
    "piechart": "piechart",
    "barchart": "barchart",
    "state-timeline": "statetimeline",
    "status-history": "statushistory",
    "heatmap": "heatmap",
    "histogram": "histogram",
    "dashlist": "dashboardlist",
    "annolist": "annotationslist",
    "logs": "logs",
    "xychart": "xychart",
    "trend": "trend",
}
# Panel types whose options the package does not publish: file in schema/.
LOCAL_PANELS = {"alertlist": "alertlist.ts"}


def ts_module(path):
    """An import specifier for a .ts/.d.ts file, without its extension."""
    return re.sub(r"(\.d)?\.ts$", "", os.path.abspath(path))


def iter_panels(panels):
    for p in panels or []:
        yield p
        if p.get("type") == "row":
            yield from iter_panels(p.get("panels"))


def ident(text):
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def panel_module(schema, ptype):
    """(import path, has FieldConfig) for a panel type, or None."""
    if ptype in PACKAGE_PANELS:
        path = os.path.join(schema, "dist/types/raw/composable",
                            PACKAGE_PANELS[ptype], "panelcfg/x/types.gen.d.ts")
    elif ptype in LOCAL_PANELS:
        path = os.path.join(HERE, LOCAL_PANELS[ptype])
    else:
        return None
    if not os.path.exists(path):
        raise SystemExit(f"generate.py: {path} missing (panel type {ptype!r}; "
                         "is @grafana/schema installed? npm ci in tests/dashboards)")
    with open(path) as f:
        text = f.read()
    return ts_module(path), re.search(r"export interface FieldConfig\b", text) is not None


def literal(value):
    # JSON is a TypeScript expression; indent for readable error positions.
    return json.dumps(value, indent=2, ensure_ascii=False)


def _is_prometheus(obj):
    ds = obj.get("datasource") if isinstance(obj, dict) else None
    return isinstance(ds, dict) and ds.get("type") == "prometheus"


def generate(path, dash, schema):
    """Returns (TypeScript source, problems)."""
    dash = json.loads(json.dumps(dash))  # a copy: panel links are taken out
    problems = []
    imports = {}
    body = []
    name = os.path.basename(path)
    for p in iter_panels(dash.get("panels")):
        ptype = p.get("type")
        if ptype == "row":
            continue
        where = f'{name}: panel {p.get("id")} "{p.get("title")}" ({ptype})'
        mod = panel_module(schema, ptype)
        if mod is None:
            problems.append(f"{where}: no published or local types for panel "
                            f"type {ptype!r} (add it to generate.py)")
            continue
        alias = "panel_" + ident(ptype)
        imports[alias] = mod[0]
        pid = ident(str(p.get("id")))
        body.append(f"// {where}")
        if "targets" in p and all(_is_prometheus(t) for t in p["targets"]):
            body.append(f"export const panel_{pid}_targets: PromQuery[] = "
                        f"{literal(p.pop('targets'))};")
        if "links" in p:
            body.append(f"export const panel_{pid}_links: JsonOf<DataLink[]> = "
                        f"{literal(p.pop('links'))};")
        body.append(f"export const panel_{pid}_options: JsonOf<{alias}.Options> = "
                    f"{literal(p.get('options', {}))};")
        custom = ((p.get("fieldConfig") or {}).get("defaults") or {}).get("custom")
        if custom is not None:
            ctype = f"JsonOf<{alias}.FieldConfig>" if mod[1] else "Record<string, never>"
            body.append(f"export const panel_{pid}_custom: {ctype} = {literal(custom)};")
    annotations = (dash.get("annotations") or {}).get("list") or []
    kept = []
    for n, a in enumerate(annotations):
        if _is_prometheus(a):
            body.append(f"// {name}: annotation {a.get('name')!r}")
            body.append(f"export const annotation_{n}: PrometheusAnnotation = "
                        f"{literal(a)};")
        else:
            kept.append(a)
    if annotations:
        dash["annotations"]["list"] = kept
    head = [
        f"// Generated by tests/dashboards/schema/generate.py from {name}; do not edit.",
        f'import type {{ Dashboard }} from "{ts_module(os.path.join(schema, "dist/types/index.d.ts"))}";',
        f'import type {{ DataLink }} from "{ts_module(os.path.join(schema, "dist/types/schema/dashboard/v2beta1/types.spec.gen.d.ts"))}";',
        f'import type {{ PromQuery, PrometheusAnnotation }} from "{ts_module(os.path.join(HERE, "prometheus.ts"))}";',
        f'import type {{ JsonOf }} from "{ts_module(os.path.join(HERE, "json_of.ts"))}";',
    ]
    head += [f'import type * as {a} from "{m}";' for a, m in sorted(imports.items())]
    head.append(f"// {name}: the whole dashboard")
    head.append(f"export const dashboard: JsonOf<Dashboard> = {literal(dash)};")
    return "\n".join(head + body) + "\n", problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schema", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("dashboards", nargs="+")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    problems = []
    files = []
    for path in args.dashboards:
        with open(path) as f:
            dash = json.load(f)
        source, probs = generate(path, dash, os.path.abspath(args.schema))
        problems += probs
        out = os.path.join(args.out, os.path.splitext(os.path.basename(path))[0] + ".ts")
        with open(out, "w") as f:
            f.write(source)
        files.append(os.path.abspath(out))
    tsconfig = {
        "compilerOptions": {
            "strict": True, "noEmit": True, "target": "es2022",
            "module": "esnext", "moduleResolution": "bundler",
            "skipLibCheck": True, "types": [],
        },
        "files": files,
    }
    with open(os.path.join(args.out, "tsconfig.json"), "w") as f:
        json.dump(tsconfig, f, indent=2)
    for msg in problems:
        print(msg, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
