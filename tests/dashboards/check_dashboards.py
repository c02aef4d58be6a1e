#!/usr/bin/python3
"""Checks pgconn's Grafana dashboards against the project's conventions.

    check_dashboards.py [--metrics FILE] DASHBOARD.json...
    check_dashboards.py --list-queries [--rate-interval 1m] [--interval 15s]
                        [--range 1h] [--with-variables] DASHBOARD.json...

Without --list-queries, every dashboard and every panel (rows and the panels
nested in collapsed rows included) is checked:

  dashboard  no "__inputs"/"__requires" and no "${DS_...}" export leftovers;
             a stable "uid" ([A-Za-z0-9_-], at most 40 characters);
             "id": null; "schemaVersion" 39-41; "refresh" a string such as
             "30s"; a title.
  variables  a "datasource" variable (type datasource, query prometheus,
             label "Data source"); query variables "job" and "instance" that
             use label_values() on pgconn_up, and "target" that uses
             label_values() on a pgconn_* metric of the contract (one that
             only one kind of target exports, so that each dashboard lists
             its own kind); every query variable with refresh 2 and
             datasource ${datasource}.
  panels     a title, a description, fieldConfig.defaults.unit, datasource
             {"type": "prometheus", "uid": "${datasource}"}, a gridPos inside
             the 24-column grid, a unique id, at least one target (panels
             that run no query, QUERYLESS_TYPES, need only the title,
             description, id and gridPos); a "repeat" names a variable of the
             dashboard that allows several values; no
             deprecated Angular panel types; every threshold step (defaults and
             overrides) has a "value" key, null for the first step only, then
             ascending numbers.
  targets    datasource as above, a non-empty expr, a unique refId.
  annotations  other than Grafana's built-in one: datasource as above, the
             query in "target" (not a legacy top-level "expr"), PromQL as
             below; --list-queries lists them too.
  PromQL     every series selector filters on job=~"$job",
             instance=~"$instance" and target=~"$target"; a metric ending in
             _total appears only as the argument of rate, irate or increase;
             rate and irate use [$__rate_interval]; increase uses a Grafana
             interval variable, not a fixed window; pgconn_* metrics are in the
             metric contract (--metrics, default the metrics of
             tests/golden/*.prom).

Each violation is printed as "<file>: panel "<title>": <problem>"; the exit
status is 1 if there is any, 2 if a file cannot be read as JSON.

With --list-queries, nothing is checked: every PromQL expression is printed as
one JSON object per line,
  {"dashboard": uid, "panel": title, "expr": ..., "refId": ..., "instant": ...,
   "file": ...}
with the dashboard variables replaced so that the query runs against a plain
Prometheus: $job, $instance, $target (any query or custom variable) become
their "All" value (".*" unless the variable sets allValue), $__rate_interval,
$__interval and $__range the given durations, $__range_s/$__range_ms and
$__interval_ms the matching numbers. --with-variables also lists the series
selector of each label_values() variable query.

Standard library only; if python3-jsonschema is installed the structure of
dashboards and panels is also validated against a small schema.
"""

import argparse
import glob
import json
import os
import re
import sys

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
REQUIRED_FILTERS = {"job": "job", "instance": "instance", "target": "target"}
COUNTER_FUNCS = {"rate", "irate", "increase"}
RATE_FUNCS = {"rate", "irate"}
RATE_INTERVAL = {"$__rate_interval", "${__rate_interval}"}
INCREASE_RANGES = RATE_INTERVAL | {"$__range", "${__range}", "$__interval",
                                   "${__interval}"}
DEPRECATED_TYPES = {"graph", "singlestat", "table-old", "grafana-piechart-panel",
                    "grafana-worldmap-panel"}
# Panel types that run no query of their own: the alert list reads
# Grafana's alerting API, a text panel shows its content.
QUERYLESS_TYPES = {"alertlist", "text"}
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
REFRESH_RE = re.compile(r"^[0-9]+(ms|s|m|h|d)$")
# The metric contract: what the agent exports, read from the golden
# expositions (tests/golden/*.prom, compared byte for byte with the real
# output by the unit tests), so that a new metric needs no list of its own.
GOLDEN_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "golden")
DEFAULT_METRICS = None

# --------------------------------------------------------------------------
# A PromQL lexer and a light structural pass: enough to find every series
# selector, its label matchers, its range and the function it is passed to.
# It does not validate the grammar; promtool does that (see run.sh).

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{[^}]+\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[A-Za-z0-9_:.]+\]\])
  | (?P<duration>(?:[0-9]+(?:ms|s|m|h|d|w|y))+)(?![A-Za-z0-9_.])
  | (?P<number>0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|==|!=|<=|>=|[-+*/%^<>=@:,(){}\[\]])
""", re.X)

AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar",
                "count", "count_values", "bottomk", "topk", "quantile",
                "limitk", "limit_ratio"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left",
                       "group_right"}
BINARY_KEYWORDS = {"and", "or", "unless", "bool", "atan2"}
LITERALS = {"inf", "nan"}


class PromQLError(Exception):
    pass


def tokenize(expr):
    tokens = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN_RE.match(expr, pos)
        if not m:
            raise PromQLError(f"cannot read PromQL at offset {pos}: "
                              f"{expr[pos:pos + 20]!r}")
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            tokens.append((kind, m.group(0)))
        pos = m.end()
    return tokens


def _unquote(s):
    if s.startswith("`"):
        return s[1:-1]
    try:
        return json.loads('"' + s[1:-1].replace('\\\'', "'") + '"') \
            if s.startswith("'") else json.loads(s)
    except ValueError:
        return s[1:-1]


def selectors(expr):
    """Returns the series selectors of expr as dicts with keys name (or None),
    matchers [(label, op, value)], range (text inside [...] or None) and call
    (the innermost enclosing function or aggregation, or None)."""
    toks = tokenize(expr)
    out = []
    stack = []  # "call:<name>" or "group"
    i = 0
    n = len(toks)

    def peek(j):
        return toks[j] if j < n else (None, None)

    def innermost_call():
        for entry in reversed(stack):
            if entry.startswith("call:"):
                return entry[5:]
        return None

    def skip_label_list(j):
        # toks[j] is "("; returns the index after the matching ")".
        depth = 0
        while j < n:
            if toks[j] == ("op", "("):
                depth += 1
            elif toks[j] == ("op", ")"):
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        raise PromQLError("unbalanced parentheses in a label list")

    def read_matchers(j):
        # toks[j] is "{"; returns (matchers, index after "}").
        matchers = []
        j += 1
        while j < n and toks[j] != ("op", "}"):
            if toks[j] == ("op", ","):
                j += 1
                continue
            kind, label = toks[j]
            if kind not in ("ident", "string"):
                raise PromQLError(f"unexpected {label!r} in label matchers")
            if kind == "string":
                label = _unquote(label)
            op = peek(j + 1)[1]
            vkind, value = peek(j + 2)
            if op not in ("=", "!=", "=~", "!~") or vkind != "string":
                raise PromQLError(f"malformed matcher after {label!r}")
            matchers.append((label, op, _unquote(value)))
            j += 3
        if j >= n:
            raise PromQLError("unterminated label matchers")
        return matchers, j + 1

    def read_range(j):
        # toks[j] is "["; returns (text, index after "]").
        parts = []
        j += 1
        while j < n and toks[j] != ("op", "]"):
            parts.append(toks[j][1])
            j += 1
        if j >= n:
            raise PromQLError("unterminated range")
        return "".join(parts), j + 1

    while i < n:
        kind, text = toks[i]
        if kind == "ident":
            low = text.lower()
            nxt = peek(i + 1)
            if low in LABEL_LIST_KEYWORDS:
                i = skip_label_list(i + 1) if nxt == ("op", "(") else i + 1
                continue
            if low in BINARY_KEYWORDS or low in LITERALS:
                i += 1
                continue
            if low == "offset":
                i += 2 if peek(i + 1)[0] in ("duration", "var") else 1
                continue
            if low in AGGREGATIONS and nxt[1] in ("by", "without"):
                j = skip_label_list(i + 2)
                if peek(j) != ("op", "("):
                    raise PromQLError(f"expected '(' after {text} by (...)")
                stack.append("call:" + low)
                i = j + 1
                continue
            if nxt == ("op", "("):
                stack.append("call:" + low)
                i += 2
                continue
            sel = {"name": text, "matchers": [], "range": None,
                   "call": innermost_call()}
            i += 1
            if peek(i) == ("op", "{"):
                sel["matchers"], i = read_matchers(i)
            if peek(i) == ("op", "["):
                sel["range"], i = read_range(i)
            out.append(sel)
            continue
        if (kind, text) == ("op", "{"):
            matchers, i = read_matchers(i)
            name = next((v for l, o, v in matchers
                         if l == "__name__" and o == "="), None)
            sel = {"name": name, "matchers": matchers, "range": None,
                   "call": innermost_call()}
            if peek(i) == ("op", "["):
                sel["range"], i = read_range(i)
            out.append(sel)
            continue
        if (kind, text) == ("op", "("):
            stack.append("group")
        elif (kind, text) == ("op", ")"):
            if not stack:
                raise PromQLError("unbalanced ')'")
            stack.pop()
        elif (kind, text) == ("op", "["):
            # A subquery range after ")": not a selector's range.
            _, i = read_range(i)
            continue
        i += 1
    if stack:
        raise PromQLError("unbalanced '('")
    return out


def check_expr(expr, contract=None):
    """Returns the PromQL convention violations of one expression."""
    try:
        sels = selectors(expr)
    except PromQLError as e:
        return [f"query {expr!r}: {e}"]
    problems = []
    if not sels:
        problems.append(f"query {expr!r} selects no series, so it cannot "
                        "filter on $job, $instance and $target")
    for s in sels:
        name = s["name"] or "{...}"
        have = {}
        for label, op, value in s["matchers"]:
            have.setdefault(label, []).append((op, value))
        for label, var in REQUIRED_FILTERS.items():
            ok = any(op == "=~" and value in (f"${var}", f"${{{var}}}")
                     for op, value in have.get(label, []))
            if not ok:
                problems.append(f"{name} lacks the filter "
                                f'{label}=~"${var}"')
        if name.endswith("_total") and s["call"] not in COUNTER_FUNCS:
            where = f"inside {s['call']}()" if s["call"] else "bare"
            problems.append(f"counter {name} used {where}; use it only "
                            "inside rate(), irate() or increase()")
        if s["call"] in RATE_FUNCS and s["range"] is not None and \
                s["range"] not in RATE_INTERVAL:
            problems.append(f"{s['call']}({name}[{s['range']}]) must use "
                            "[$__rate_interval]")
        if s["call"] in COUNTER_FUNCS and s["range"] is None:
            problems.append(f"{s['call']}() of {name} has no range")
        if s["call"] == "increase" and s["range"] is not None and \
                s["range"] not in INCREASE_RANGES:
            problems.append(f"increase({name}[{s['range']}]) must use "
                            "$__rate_interval, $__interval or $__range, not a "
                            "fixed window")
        if contract is not None and name.startswith("pgconn_") and \
                name not in contract:
            problems.append(f"{name} is not in the metric contract")
    return problems


# --------------------------------------------------------------------------
# Dashboard walking.

def iter_panels(panels, parent=None):
    """Yields (panel, parent_row) for every panel, nested ones included."""
    for p in panels or []:
        if not isinstance(p, dict):
            continue
        yield p, parent
        if p.get("type") == "row":
            yield from iter_panels(p.get("panels"), p)


def _label(p):
    title = p.get("title") if isinstance(p, dict) else None
    return f'panel "{title}"' if title else f"panel id {p.get('id')!r}"


def _check_steps(steps, where, problems):
    if not isinstance(steps, list) or not steps:
        problems.append(f"{where}: thresholds need a non-empty steps list")
        return
    prev = None
    for k, step in enumerate(steps):
        if not isinstance(step, dict) or "value" not in step:
            problems.append(f"{where}: threshold step {k} has no \"value\" "
                            "key (use null for the base step)")
            continue
        v = step["value"]
        if k == 0:
            if v is not None:
                problems.append(f"{where}: the first threshold step must have "
                                "\"value\": null")
            continue
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            problems.append(f"{where}: threshold step {k} needs a number, "
                            f"not {v!r}")
            continue
        if prev is not None and v <= prev:
            problems.append(f"{where}: threshold steps must ascend "
                            f"({prev} then {v})")
        prev = v


def _find_thresholds(panel):
    """Yields (where, steps) for the thresholds in defaults and overrides."""
    fc = panel.get("fieldConfig") or {}
    th = (fc.get("defaults") or {}).get("thresholds")
    if th is not None:
        yield "thresholds", (th or {}).get("steps")
    for k, o in enumerate(fc.get("overrides") or []):
        for prop in (o or {}).get("properties") or []:
            if prop.get("id") == "thresholds":
                yield f"override {k} thresholds", (prop.get("value") or
                                                    {}).get("steps")


def _variables(dash):
    return [v for v in ((dash.get("templating") or {}).get("list") or [])
            if isinstance(v, dict)]


def _variable_query(v):
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("query")
    return q if isinstance(q, str) else v.get("definition") or ""


def _prometheus_annotations(dash):
    """Annotation queries on the Prometheus data source that have a query
    (Grafana keeps it in "target", as for panel queries)."""
    out = []
    for a in ((dash.get("annotations") or {}).get("list") or []):
        if (isinstance(a, dict) and a.get("datasource") == DATASOURCE and
                isinstance(a.get("target"), dict) and a["target"].get("expr")):
            out.append(a)
    return out


def _contains_export_leftover(obj):
    text = json.dumps(obj)
    return re.search(r"\$\{DS_[A-Z0-9_]+\}", text) is not None


def check_dashboard(dash, contract=None):
    """Returns a list of (where, problem) for one parsed dashboard."""
    problems = []

    def top(msg):
        problems.append(("dashboard", msg))

    if not isinstance(dash, dict):
        return [("dashboard", "the file is not a JSON object")]
    for key in ("__inputs", "__requires", "__elements"):
        if key in dash:
            top(f'"{key}" present: export for file provisioning, not for '
                'sharing externally')
    if _contains_export_leftover(dash):
        top('contains "${DS_...}" placeholders from an external export; '
            'use ${datasource}')
    uid = dash.get("uid")
    if not isinstance(uid, str) or not UID_RE.match(uid):
        top(f"uid {uid!r} must be a stable string of at most 40 characters "
            "[A-Za-z0-9_-]")
    if "id" not in dash or dash["id"] is not None:
        top('"id" must be null')
    sv = dash.get("schemaVersion")
    if not isinstance(sv, int) or isinstance(sv, bool) or not 39 <= sv <= 41:
        top(f"schemaVersion {sv!r} must be between 39 and 41")
    refresh = dash.get("refresh")
    if not isinstance(refresh, str) or not REFRESH_RE.match(refresh):
        top(f"refresh {refresh!r} must be a string such as \"30s\"")
    if not dash.get("title"):
        top("no title")

    # Variables.
    variables = _variables(dash)
    by_name = {v.get("name"): v for v in variables}
    ds = by_name.get("datasource")
    if ds is None:
        top('no "datasource" variable')
    else:
        if ds.get("type") != "datasource":
            top('variable "datasource" must have type "datasource"')
        if ds.get("query") != "prometheus":
            top('variable "datasource" must have query "prometheus"')
        if ds.get("label") != "Data source":
            top('variable "datasource" must have label "Data source"')
    for name in ("job", "instance", "target"):
        v = by_name.get(name)
        if v is None:
            top(f'no "{name}" variable')
            continue
        if v.get("type") != "query":
            top(f'variable "{name}" must be a query variable')
        q = _variable_query(v)
        metric = "pgconn_up" if name != "target" else "pgconn_[a-z_]+"
        m = re.match(r"^\s*label_values\(\s*(" + metric + r")\b.*,\s*" +
                     name + r"\s*\)\s*$", q)
        if not m:
            top(f'variable "{name}" must use label_values({metric}..., '
                f'{name}), not {q!r}')
        elif contract is not None and m.group(1) not in contract:
            top(f'variable "{name}": {m.group(1)} is not in the metric '
                'contract')
    for v in variables:
        if v.get("type") != "query":
            continue
        if v.get("refresh") != 2:
            top(f'variable "{v.get("name")}" must have refresh 2 (on time '
                'range change)')
        if v.get("datasource") != DATASOURCE:
            top(f'variable "{v.get("name")}" must use datasource '
                f"{json.dumps(DATASOURCE)}")

    # Annotations: the same rules for their queries as for panels'.
    for a in ((dash.get("annotations") or {}).get("list") or []):
        if not isinstance(a, dict) or a.get("builtIn"):
            continue
        where = f'annotation "{a.get("name")}"'
        if a.get("datasource") != DATASOURCE:
            problems.append((where, f"datasource must be {json.dumps(DATASOURCE)}"))
        if "expr" in a:
            problems.append((where, 'put the query in "target" (as Grafana '
                             'saves it), not in a top-level "expr"'))
    for a in _prometheus_annotations(dash):
        for msg in check_expr(a["target"]["expr"], contract):
            problems.append((f'annotation "{a.get("name")}"', msg))

    # Panels.
    panels = dash.get("panels")
    if not isinstance(panels, list) or not panels:
        top("no panels")
        panels = []
    ids = {}
    for p, parent in iter_panels(panels):
        where = _label(p)

        def bad(msg, where=where):
            problems.append((where, msg))

        pid = p.get("id")
        if not isinstance(pid, int) or isinstance(pid, bool):
            bad(f"id {pid!r} must be an integer")
        elif pid in ids:
            bad(f"id {pid} is also used by {ids[pid]}")
        else:
            ids[pid] = where
        if not p.get("title"):
            bad("no title")
        gp = p.get("gridPos")
        if not isinstance(gp, dict) or not all(
                isinstance(gp.get(k), int) for k in ("h", "w", "x", "y")):
            bad("gridPos needs integer h, w, x and y")
        elif gp["x"] < 0 or gp["w"] < 1 or gp["x"] + gp["w"] > 24:
            bad(f"gridPos x={gp['x']} w={gp['w']} leaves the 24-column grid")

        ptype = p.get("type")
        repeat = p.get("repeat")
        if repeat is not None and not (by_name.get(repeat) or {}).get("multi"):
            bad(f"repeat {repeat!r} must name a multi-value variable")
        if ptype == "row":
            if parent is not None:
                bad("rows cannot be nested")
            if not p.get("collapsed") and p.get("panels"):
                bad("an expanded row must not nest panels (put them after "
                    "the row)")
            continue
        if ptype in DEPRECATED_TYPES:
            bad(f'panel type "{ptype}" is deprecated (Angular); use the '
                "current equivalent")
        if not p.get("description"):
            bad("no description")
        if ptype in QUERYLESS_TYPES:
            if p.get("targets"):
                bad(f'a "{ptype}" panel runs no query; remove its targets')
            continue
        if p.get("datasource") != DATASOURCE:
            bad(f"datasource {json.dumps(p.get('datasource'))} must be "
                f"{json.dumps(DATASOURCE)}")
        unit = ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
        if not isinstance(unit, str) or not unit:
            bad("no unit in fieldConfig.defaults.unit")
        for twhere, steps in _find_thresholds(p):
            tmp = []
            _check_steps(steps, twhere, tmp)
            for msg in tmp:
                bad(msg)

        targets = p.get("targets")
        if not isinstance(targets, list) or not targets:
            bad("no targets")
            continue
        refids = set()
        for t in targets:
            if not isinstance(t, dict):
                bad("a target is not an object")
                continue
            ref = t.get("refId")
            tw = f"target {ref}" if ref else "a target"
            if not ref:
                bad("a target has no refId")
            elif ref in refids:
                bad(f"refId {ref} is used twice")
            refids.add(ref)
            if t.get("datasource") != DATASOURCE:
                bad(f"{tw}: datasource {json.dumps(t.get('datasource'))} "
                    f"must be {json.dumps(DATASOURCE)}")
            expr = t.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                bad(f"{tw}: no expr")
                continue
            for msg in check_expr(expr, contract):
                bad(f"{tw}: {msg}")

    problems.extend(_schema_problems(dash))
    return problems


# --------------------------------------------------------------------------
# Optional structural validation with python3-jsonschema.

_PANEL_SCHEMA = {
    "type": "object",
    "required": ["type", "gridPos"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "targets": {"type": "array", "items": {"type": "object"}},
        "fieldConfig": {
            "type": "object",
            "properties": {
                "defaults": {"type": "object"},
                "overrides": {"type": "array"},
            },
        },
        "options": {"type": "object"},
        "panels": {"type": "array", "items": {"$ref": "#/$defs/panel"}},
    },
}
_DASHBOARD_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {"panel": _PANEL_SCHEMA},
    "type": "object",
    "required": ["title", "uid", "panels", "schemaVersion", "templating",
                 "time"],
    "properties": {
        "title": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "panels": {"type": "array", "items": {"$ref": "#/$defs/panel"}},
        "templating": {
            "type": "object",
            "required": ["list"],
            "properties": {"list": {"type": "array",
                                    "items": {"type": "object",
                                              "required": ["name", "type"]}}},
        },
        "time": {"type": "object", "required": ["from", "to"]},
        "links": {"type": "array"},
        "annotations": {"type": "object"},
    },
}


def _schema_problems(dash):
    try:
        import jsonschema  # optional: python3-jsonschema
    except ImportError:
        return []
    validator = jsonschema.Draft202012Validator(_DASHBOARD_SCHEMA)
    out = []
    for err in sorted(validator.iter_errors(dash), key=lambda e: list(e.path)):
        path = "/".join(str(x) for x in err.absolute_path) or "(root)"
        out.append(("schema", f"{path}: {err.message}"))
    return out


# --------------------------------------------------------------------------
# Query listing.

def _duration_seconds(text):
    total = 0
    for num, unit in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", text):
        total += int(num) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600,
                             "d": 86400, "w": 604800, "y": 31536000}[unit]
    return total


def substitute(expr, dash, rate_interval="1m", interval="15s", range_="1h"):
    """Replaces Grafana variables so that expr runs on a plain Prometheus."""
    builtins = {
        "__rate_interval": rate_interval,
        "__interval": interval,
        "__range": range_,
        "__range_s": str(int(_duration_seconds(range_))),
        "__range_ms": str(int(_duration_seconds(range_) * 1000)),
        "__interval_ms": str(int(_duration_seconds(interval) * 1000)),
    }
    all_values = {}
    for v in _variables(dash):
        if v.get("type") in ("query", "custom", "textbox", "constant"):
            all_values[v.get("name")] = v.get("allValue") or ".*"

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in builtins:
            return builtins[name]
        if name in all_values:
            return all_values[name]
        return m.group(0)

    return re.sub(r"\$\{([A-Za-z0-9_]+)(?::[A-Za-z0-9_]+)?\}"
                  r"|\$([A-Za-z_][A-Za-z0-9_]*)"
                  r"|\[\[([A-Za-z0-9_]+)(?::[A-Za-z0-9_]+)?\]\]",
                  repl, expr)


def list_queries(dash, path, args):
    rows = []
    uid = dash.get("uid") or os.path.basename(path)
    for p, _ in iter_panels(dash.get("panels") or []):
        if p.get("type") == "row":
            continue
        for t in p.get("targets") or []:
            expr = t.get("expr") if isinstance(t, dict) else None
            if not expr:
                continue
            rows.append({
                "dashboard": uid,
                "panel": p.get("title") or f"id {p.get('id')}",
                "expr": substitute(expr, dash, args.rate_interval,
                                   args.interval, args.range),
                "refId": t.get("refId"),
                "instant": bool(t.get("instant")) and not t.get("range"),
                "file": path,
            })
    for a in _prometheus_annotations(dash):
        rows.append({
            "dashboard": uid,
            "panel": f"annotation {a.get('name')}",
            "expr": substitute(a["target"]["expr"], dash, args.rate_interval,
                               args.interval, args.range),
            "refId": a["target"].get("refId"),
            "instant": False,
            "file": path,
        })
    if args.with_variables:
        for v in _variables(dash):
            if v.get("type") != "query":
                continue
            m = re.match(r"^\s*label_values\((.*),\s*[A-Za-z_]+\s*\)\s*$",
                         _variable_query(v), re.S)
            if m:
                rows.append({
                    "dashboard": uid,
                    "panel": f"variable {v.get('name')}",
                    "expr": substitute(m.group(1), dash, args.rate_interval,
                                       args.interval, args.range),
                    "refId": None,
                    "instant": True,
                    "file": path,
                })
    return rows


def exported_metrics(golden_dir=GOLDEN_DIR):
    """The names of every family (# TYPE) in the golden files."""
    names = set()
    for path in sorted(glob.glob(os.path.join(golden_dir, "*.prom"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"# TYPE (\S+) ", line)
                if m:
                    names.add(m.group(1))
    return names


def load_contract(path=None):
    """The contract: a file of names (one a line, # comments) if `path` is
    given, else the metrics of the golden files; None for '' or a missing
    file."""
    if path is None:
        return exported_metrics() or None
    if not path or not os.path.isfile(path):
        return None
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.add(line)
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Check Grafana dashboards against pgconn's conventions.")
    parser.add_argument("dashboards", nargs="+", metavar="DASHBOARD.json")
    parser.add_argument("--list-queries", action="store_true",
                        help="print every PromQL expression as JSON lines, "
                             "variables substituted, and check nothing")
    parser.add_argument("--with-variables", action="store_true",
                        help="with --list-queries, also list the selectors "
                             "of label_values() variable queries")
    parser.add_argument("--rate-interval", default="1m",
                        help="value of $__rate_interval (default 1m)")
    parser.add_argument("--interval", default="15s",
                        help="value of $__interval (default 15s)")
    parser.add_argument("--range", default="1h",
                        help="value of $__range (default 1h)")
    parser.add_argument("--metrics", default=DEFAULT_METRICS,
                        help="metric contract, one name a line (default: "
                             "the metrics of tests/golden/*.prom; '' to "
                             "skip)")
    args = parser.parse_args(argv)

    contract = load_contract(args.metrics)
    status = 0
    count = 0
    for path in args.dashboards:
        try:
            with open(path, encoding="utf-8") as f:
                dash = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{path}: cannot read JSON: {e}", file=sys.stderr)
            status = 2
            continue
        if args.list_queries:
            for row in list_queries(dash, path, args):
                print(json.dumps(row, ensure_ascii=False))
            continue
        problems = check_dashboard(dash, contract)
        for where, msg in problems:
            print(f"{path}: {where}: {msg}")
        if problems:
            status = max(status, 1)
        count += sum(1 for p, _ in iter_panels(dash.get("panels") or []))
    if not args.list_queries and status == 0:
        print(f"check_dashboards: {len(args.dashboards)} dashboard(s), "
              f"{count} panels: no problems")
    return status


if __name__ == "__main__":
    sys.exit(main())
