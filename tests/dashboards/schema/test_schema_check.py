#!/usr/bin/python3
"""Negative tests of the @grafana/schema check (schema/check.sh).

Plants one mistake at a time into a copy of dashboards/pgconn-connections.json
and requires check.sh to fail on exactly that copy, with the TypeScript error
that names the mistake; the unmodified copy, checked in the same run, must
pass. All copies go through one tsc run (one check.sh call), which keeps the
test to a few seconds.
"""

import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../.."))
DASHBOARD = os.path.join(ROOT, "dashboards/pgconn-connections.json")


def panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def first(dash, ptype):
    return next(p for p in panels(dash) if p["type"] == ptype)


def misspelt_legend_option(d):
    legend = first(d, "timeseries")["options"]["legend"]
    legend["dispalyMode"] = legend.pop("displayMode")


def bad_graph_tooltip(d):
    d["graphTooltip"] = 3


def bad_color_mode(d):
    first(d, "stat")["options"]["colorMode"] = "backgroud"


def calcs_not_a_list(d):
    first(d, "stat")["options"]["reduceOptions"]["calcs"] = "lastNotNull"


def unknown_custom_field_option(d):
    first(d, "timeseries")["fieldConfig"]["defaults"]["custom"]["lineWidht"] = 2


def unknown_panel_link_key(d):
    p = first(d, "stat")
    p["links"] = [{"title": "x", "url": "https://example.org", "newTab": True}]


def bad_table_cell_option(d):
    t = first(d, "table")
    t["fieldConfig"]["defaults"]["custom"]["cellOptions"] = {"type": "colour-background"}


def misspelt_query_field(d):
    t = first(d, "timeseries")["targets"][0]
    t["legendFromat"] = t.pop("legendFormat")


def misspelt_annotation_option(d):
    a = next(a for a in d["annotations"]["list"] if not a.get("builtIn"))
    a["titelFormat"] = a.pop("titleFormat")


# name -> (mutation, regular expression the tsc error must match)
CASES = {
    "misspelt_legend_option": (misspelt_legend_option, r"'\"?dispalyMode\"?' does not exist"),
    "bad_graph_tooltip": (bad_graph_tooltip, r"Type '3' is not assignable"),
    "bad_color_mode": (bad_color_mode, r"'\"backgroud\"' is not assignable"),
    "calcs_not_a_list": (calcs_not_a_list, r"Type 'string' is not assignable to type 'string\[\]'"),
    "unknown_custom_field_option": (unknown_custom_field_option, r"'\"?lineWidht\"?' does not exist"),
    "unknown_panel_link_key": (unknown_panel_link_key, r"'\"?newTab\"?' does not exist"),
    "bad_table_cell_option": (bad_table_cell_option, r"colour-background"),
    "misspelt_query_field": (misspelt_query_field, r"'\"?legendFromat\"?' does not exist"),
    "misspelt_annotation_option": (misspelt_annotation_option, r"'\"?titelFormat\"?' does not exist"),
}


class SchemaCheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DASHBOARD) as f:
            base = json.load(f)
        cls.tmp = tempfile.TemporaryDirectory()
        paths = [os.path.join(cls.tmp.name, "unchanged.json")]
        with open(paths[0], "w") as f:
            json.dump(base, f)
        for name, (mutate, _) in CASES.items():
            d = copy.deepcopy(base)
            mutate(d)
            paths.append(os.path.join(cls.tmp.name, name + ".json"))
            with open(paths[-1], "w") as f:
                json.dump(d, f)
        r = subprocess.run([os.path.join(HERE, "check.sh"), "--out",
                            os.path.join(cls.tmp.name, "ts")] + paths,
                           capture_output=True, text=True)
        cls.returncode, cls.output = r.returncode, r.stdout + r.stderr
        # tsc prints "<file>.ts(line,col): error TSnnnn: message".
        cls.errors = {}
        for line in cls.output.splitlines():
            m = re.match(r"^(.*?)\.ts\(\d+,\d+\): error (.*)$", line)
            if m:
                cls.errors.setdefault(os.path.basename(m.group(1)), []).append(m.group(2))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_check_fails(self):
        self.assertNotEqual(self.returncode, 0, self.output)

    def test_unchanged_dashboard_has_no_error(self):
        self.assertNotIn("unchanged", self.errors, self.output)

    def test_each_planted_mistake_is_reported(self):
        for name, (_, pattern) in CASES.items():
            with self.subTest(name):
                errors = self.errors.get(name, [])
                self.assertEqual(len(errors), 1, f"{name}: {errors}\n{self.output}")
                self.assertRegex(errors[0], pattern)


class UnknownPanelTypeTest(unittest.TestCase):
    def test_panel_type_without_types_fails(self):
        with open(DASHBOARD) as f:
            d = json.load(f)
        first(d, "stat")["type"] = "grafana-clock-panel"
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "clock.json")
            with open(path, "w") as f:
                json.dump(d, f)
            r = subprocess.run([sys.executable, os.path.join(HERE, "generate.py"),
                                "--schema", os.path.join(HERE, "../node_modules/@grafana/schema"),
                                "--out", os.path.join(tmp, "ts"), path],
                               capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no published or local types for panel type 'grafana-clock-panel'",
                      r.stderr)


if __name__ == "__main__":
    unittest.main()
