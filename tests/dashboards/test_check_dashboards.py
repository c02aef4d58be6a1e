#!/usr/bin/python3
"""Unit tests for check_dashboards.py: broken dashboards are reported, the
real dashboards pass, and --list-queries substitutes the variables.

    python3 -m unittest tests/dashboards/test_check_dashboards.py
"""

import contextlib
import copy
import glob
import io
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import check_dashboards as cd  # noqa: E402

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job", instance=~"$instance", target=~"$target"'
CONTRACT = cd.load_contract(cd.DEFAULT_METRICS)


def query_var(name, query):
    return {"type": "query", "name": name, "label": name.title(),
            "datasource": DS, "definition": query,
            "query": {"qryType": 1, "query": query, "refId": "V"},
            "refresh": 2, "includeAll": True, "multi": True,
            "allValue": ".*"}


def panel(pid, title, expr, y=0, unit="short"):
    return {
        "id": pid, "type": "timeseries", "title": title,
        "description": "What it shows.", "datasource": dict(DS),
        "gridPos": {"h": 8, "w": 12, "x": 0, "y": y},
        "fieldConfig": {"defaults": {
            "unit": unit,
            "thresholds": {"mode": "absolute", "steps": [
                {"color": "green", "value": None},
                {"color": "red", "value": 80}]}},
            "overrides": []},
        "targets": [{"datasource": dict(DS), "expr": expr, "refId": "A"}],
    }


def valid_dashboard():
    return {
        "id": None, "uid": "test-dash", "title": "Test",
        "schemaVersion": 39, "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [
            {"type": "datasource", "name": "datasource",
             "label": "Data source", "query": "prometheus"},
            query_var("job", "label_values(pgconn_up, job)"),
            query_var("instance",
                      'label_values(pgconn_up{job=~"$job"}, instance)'),
            query_var("target", 'label_values(pgconn_up{job=~"$job", '
                                'instance=~"$instance"}, target)'),
        ]},
        "panels": [
            panel(1, "Used", f"pgconn_used_connections{{{SEL}}}"),
            panel(2, "Errors",
                  f"sum by (target, reason) (rate(pgconn_poll_errors_total"
                  f"{{{SEL}}}[$__rate_interval]))", y=8, unit="ops"),
            {"id": 3, "type": "row", "title": "Health", "collapsed": True,
             "gridPos": {"h": 1, "w": 24, "x": 0, "y": 16},
             "panels": [panel(4, "Up", f"pgconn_up{{{SEL}}}", y=17,
                              unit="none")]},
        ],
    }


def problems(dash):
    return [f"{where}: {msg}" for where, msg in cd.check_dashboard(dash,
                                                                   CONTRACT)]


class CheckDashboardTest(unittest.TestCase):

    def assertReported(self, dash, *fragments):
        found = problems(dash)
        for fragment in fragments:
            self.assertTrue(any(fragment in p for p in found),
                            f"{fragment!r} not reported; got {found}")

    def test_valid_dashboard_passes(self):
        self.assertEqual(problems(valid_dashboard()), [])

    def test_real_dashboards_pass(self):
        paths = sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json")))
        self.assertTrue(paths, "no dashboards found")
        for path in paths:
            with open(path, encoding="utf-8") as f:
                dash = json.load(f)
            with self.subTest(path=path):
                self.assertEqual(problems(dash), [])

    def test_every_real_panel_is_documented(self):
        with open(os.path.join(ROOT, "docs", "dashboards.md"),
                  encoding="utf-8") as f:
            doc = f.read()
        for path in sorted(glob.glob(os.path.join(ROOT, "dashboards",
                                                  "*.json"))):
            with open(path, encoding="utf-8") as f:
                dash = json.load(f)
            for p, _ in cd.iter_panels(dash["panels"]):
                with self.subTest(panel=p["title"]):
                    self.assertIn(p["title"], doc,
                                  "describe the panel in docs/dashboards.md")

    # -- dashboard level
    def test_inputs_reported(self):
        d = valid_dashboard()
        d["__inputs"] = [{"name": "DS_PROMETHEUS", "type": "datasource"}]
        self.assertReported(d, '"__inputs" present')

    def test_export_placeholder_reported(self):
        d = valid_dashboard()
        d["panels"][0]["datasource"] = {"type": "prometheus",
                                        "uid": "${DS_PROMETHEUS}"}
        self.assertReported(d, "${DS_...}", 'panel "Used": datasource')

    def test_id_must_be_null(self):
        d = valid_dashboard()
        d["id"] = 17
        self.assertReported(d, '"id" must be null')
        del d["id"]
        self.assertReported(d, '"id" must be null')

    def test_uid_required_and_stable(self):
        d = valid_dashboard()
        del d["uid"]
        self.assertReported(d, "uid None")
        d["uid"] = "has spaces and is far too long for grafana to accept it"
        self.assertReported(d, "uid")

    def test_schema_version_range(self):
        for bad in (38, 42, "39", None):
            d = valid_dashboard()
            d["schemaVersion"] = bad
            with self.subTest(bad=bad):
                self.assertReported(d, "schemaVersion")
        for good in (39, 40, 41):
            d = valid_dashboard()
            d["schemaVersion"] = good
            self.assertEqual(problems(d), [])

    def test_refresh_must_be_string(self):
        for bad in (30, True, "", "often"):
            d = valid_dashboard()
            d["refresh"] = bad
            with self.subTest(bad=bad):
                self.assertReported(d, "refresh")

    # -- variables
    def test_datasource_variable(self):
        d = valid_dashboard()
        d["templating"]["list"][0]["label"] = "datasource"
        self.assertReported(d, 'label "Data source"')
        d["templating"]["list"][0]["type"] = "custom"
        self.assertReported(d, 'type "datasource"')
        del d["templating"]["list"][0]
        self.assertReported(d, 'no "datasource" variable')

    def test_query_variables(self):
        d = valid_dashboard()
        d["templating"]["list"][1]["refresh"] = 1
        self.assertReported(d, 'variable "job" must have refresh 2')
        d = valid_dashboard()
        d["templating"]["list"][2]["datasource"] = {"type": "prometheus",
                                                    "uid": "prom"}
        self.assertReported(d, 'variable "instance" must use datasource')
        d = valid_dashboard()
        d["templating"]["list"][3]["query"]["query"] = \
            "label_values(up, target)"
        self.assertReported(d, 'variable "target" must use label_values')
        d = valid_dashboard()
        del d["templating"]["list"][3]
        self.assertReported(d, 'no "target" variable')

    def test_target_variable_of_one_kind_of_target(self):
        d = valid_dashboard()
        d["templating"]["list"][3]["query"]["query"] = (
            'label_values(pgconn_max_connections{job=~"$job"}, target)')
        self.assertEqual(problems(d), [])
        d["templating"]["list"][3]["query"]["query"] = (
            "label_values(pgconn_no_such_metric, target)")
        self.assertReported(d, 'variable "target": pgconn_no_such_metric is '
                               "not in the metric contract")
        d["templating"]["list"][1]["query"]["query"] = (
            "label_values(pgconn_max_connections, job)")
        self.assertReported(d, 'variable "job" must use label_values(pgconn_up')

    def test_repeat_names_a_multi_value_variable(self):
        d = valid_dashboard()
        d["panels"][0]["repeat"] = "target"
        d["panels"][2]["repeat"] = "target"
        self.assertEqual(problems(d), [])
        d["panels"][0]["repeat"] = "tagret"
        d["templating"]["list"][3]["multi"] = False
        d["panels"][2]["repeat"] = "target"
        self.assertReported(d, "panel \"Used\": repeat 'tagret' must name",
                            "repeat 'target' must name a multi-value")

    def test_queryless_panels(self):
        d = valid_dashboard()
        d["panels"].append({"id": 9, "type": "alertlist", "title": "Alerts",
                            "description": "Firing alerts.",
                            "gridPos": {"h": 8, "w": 12, "x": 0, "y": 30},
                            "options": {}})
        self.assertEqual(problems(d), [])
        d["panels"][-1]["targets"] = [{"refId": "A", "expr": "up"}]
        self.assertReported(d, 'panel "Alerts": a "alertlist" panel runs no '
                               "query")

    # -- panels
    def test_missing_unit(self):
        d = valid_dashboard()
        del d["panels"][0]["fieldConfig"]["defaults"]["unit"]
        self.assertReported(d, 'panel "Used": no unit')

    def test_missing_title_and_description(self):
        d = valid_dashboard()
        d["panels"][0]["description"] = ""
        self.assertReported(d, 'panel "Used": no description')
        d["panels"][0]["title"] = ""
        self.assertReported(d, "panel id 1: no title")

    def test_wrong_panel_datasource(self):
        d = valid_dashboard()
        d["panels"][0]["datasource"] = {"type": "prometheus", "uid": "prom"}
        self.assertReported(d, 'panel "Used": datasource')
        d = valid_dashboard()
        del d["panels"][0]["datasource"]
        self.assertReported(d, 'panel "Used": datasource null')

    def test_wrong_target_datasource(self):
        d = valid_dashboard()
        d["panels"][0]["targets"][0]["datasource"] = "Prometheus"
        self.assertReported(d, 'panel "Used": target A: datasource')

    def test_threshold_step_without_value(self):
        d = valid_dashboard()
        steps = d["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        del steps[0]["value"]
        self.assertReported(d, 'panel "Used": thresholds: threshold step 0 '
                               'has no "value" key')

    def test_threshold_base_step_must_be_null(self):
        d = valid_dashboard()
        steps = d["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        steps[0]["value"] = 0
        self.assertReported(d, 'first threshold step must have "value": null')

    def test_threshold_steps_ascend(self):
        d = valid_dashboard()
        steps = d["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        steps.append({"color": "orange", "value": 50})
        self.assertReported(d, "threshold steps must ascend")

    def test_threshold_in_override_checked(self):
        d = valid_dashboard()
        d["panels"][0]["fieldConfig"]["overrides"] = [{
            "matcher": {"id": "byName", "options": "x"},
            "properties": [{"id": "thresholds", "value": {
                "mode": "absolute", "steps": [{"color": "green"}]}}]}]
        self.assertReported(d, "override 0 thresholds: threshold step 0")

    def test_nested_panel_in_collapsed_row_checked(self):
        d = valid_dashboard()
        del d["panels"][2]["panels"][0]["fieldConfig"]["defaults"]["unit"]
        d["panels"][2]["panels"][0]["targets"][0]["expr"] = \
            "pgconn_polls_total"
        self.assertReported(d, 'panel "Up": no unit',
                            'panel "Up": target A: pgconn_polls_total lacks '
                            'the filter job=~"$job"',
                            'panel "Up": target A: counter pgconn_polls_total '
                            "used bare")

    def test_expanded_row_with_nested_panels(self):
        d = valid_dashboard()
        d["panels"][2]["collapsed"] = False
        self.assertReported(d, 'panel "Health": an expanded row must not '
                               'nest panels')

    def test_duplicate_ids_and_grid(self):
        d = valid_dashboard()
        d["panels"][1]["id"] = 1
        d["panels"][0]["gridPos"]["x"] = 20
        self.assertReported(d, 'panel "Errors": id 1 is also used',
                            'panel "Used": gridPos x=20 w=12')

    def test_deprecated_panel_type(self):
        d = valid_dashboard()
        d["panels"][0]["type"] = "graph"
        self.assertReported(d, 'panel type "graph" is deprecated')

    def test_no_targets(self):
        d = valid_dashboard()
        d["panels"][0]["targets"] = []
        self.assertReported(d, 'panel "Used": no targets')

    # -- PromQL
    def expr_problems(self, expr):
        d = valid_dashboard()
        d["panels"][0]["targets"][0]["expr"] = expr
        return [p for p in problems(d) if 'panel "Used"' in p]

    def test_total_outside_rate(self):
        for expr in (f"pgconn_polls_total{{{SEL}}}",
                     f"sum(pgconn_polls_total{{{SEL}}})",
                     f"delta(pgconn_polls_total{{{SEL}}}[$__rate_interval])",
                     f"increase(pgconn_polls_total{{{SEL}}}[$__range]) / "
                     f"pgconn_poll_errors_total{{{SEL}}}"):
            with self.subTest(expr=expr):
                found = self.expr_problems(expr)
                self.assertTrue(any("counter pgconn_" in p for p in found),
                                found)

    def test_total_inside_rate_irate_increase_passes(self):
        for expr in (
                f"rate(pgconn_polls_total{{{SEL}}}[$__rate_interval])",
                f"irate(pgconn_polls_total{{{SEL}}}[${{__rate_interval}}])",
                f"sum by (reason) (increase(pgconn_poll_errors_total{{{SEL}}}"
                f"[$__range]))",
                f"sum(rate(pgconn_poll_errors_total{{{SEL}, reason=\"x\"}}"
                f"[$__rate_interval])) by (target) / on(target) "
                f"group_left sum(rate(pgconn_polls_total{{{SEL}}}"
                f"[$__rate_interval])) by (target)"):
            with self.subTest(expr=expr):
                self.assertEqual(self.expr_problems(expr), [])

    def test_rate_without_rate_interval(self):
        for func in ("rate", "irate"):
            with self.subTest(func=func):
                found = self.expr_problems(
                    f"{func}(pgconn_polls_total{{{SEL}}}[5m])")
                self.assertTrue(any("must use [$__rate_interval]" in p
                                    for p in found), found)
        found = self.expr_problems(f"rate(pgconn_polls_total{{{SEL}}}"
                                   "[$__interval])")
        self.assertTrue(any("must use [$__rate_interval]" in p
                            for p in found), found)

    def test_increase_with_fixed_window(self):
        found = self.expr_problems(
            f"increase(pgconn_polls_total{{{SEL}}}[1h])")
        self.assertTrue(any("not a fixed window" in p for p in found), found)

    def test_missing_filters(self):
        found = self.expr_problems('pgconn_used_connections{job=~"$job"}')
        self.assertTrue(any('lacks the filter instance=~"$instance"' in p
                            for p in found), found)
        self.assertTrue(any('lacks the filter target=~"$target"' in p
                            for p in found), found)
        found = self.expr_problems(
            'pgconn_used_connections{job="$job", instance=~"$instance", '
            'target=~"$target"}')
        self.assertTrue(any('lacks the filter job=~"$job"' in p
                            for p in found), found)

    def test_every_selector_of_a_join_is_filtered(self):
        found = self.expr_problems(
            f"pgconn_used_connections{{{SEL}}} / on(target) "
            "pgconn_usable_connections")
        self.assertTrue(any("pgconn_usable_connections lacks" in p
                            for p in found), found)

    def test_query_without_selector(self):
        found = self.expr_problems("vector(1)")
        self.assertTrue(any("selects no series" in p for p in found), found)

    def test_unknown_metric(self):
        found = self.expr_problems(f"pgconn_no_such_metric{{{SEL}}}")
        self.assertTrue(any("not in the metric contract" in p
                            for p in found), found)

    def test_lexer_ignores_strings_label_lists_and_keywords(self):
        for expr in (
                f'pgconn_connections{{{SEL}, state="x_total"}}',
                f"sum by (x_total) (pgconn_connections{{{SEL}}})",
                f"pgconn_used_connections{{{SEL}}} offset 5m",
                f"pgconn_used_connections{{{SEL}}} > bool 0.9",
                f"time() - pgconn_last_poll_success_timestamp_seconds{{{SEL}}}",
                f'label_replace(pgconn_up{{{SEL}}}, "a", "$1", "target", '
                f'"(.*)_total")',
                f"max_over_time(pgconn_used_connections{{{SEL}}}[$__range:])",
                f"pgconn_database_connections{{{SEL}}} and on(target, "
                f"database) pgconn_database_connection_limit{{{SEL}}} > 0",
                f"topk(5, pgconn_oldest_idle_seconds{{{SEL}}})"):
            with self.subTest(expr=expr):
                self.assertEqual(self.expr_problems(expr), [])

    def test_selectors_report_call_and_range(self):
        sels = cd.selectors(
            'sum by (reason) (rate(a_total{x="1"}[$__rate_interval])) '
            '/ ignoring(reason) group_left b')
        self.assertEqual([(s["name"], s["call"], s["range"]) for s in sels],
                         [("a_total", "rate", "$__rate_interval"),
                          ("b", None, None)])
        self.assertEqual(sels[0]["matchers"], [("x", "=", "1")])

    def test_unbalanced_expression_reported(self):
        found = self.expr_problems(f"sum(pgconn_up{{{SEL}}}")
        self.assertTrue(any("unbalanced" in p for p in found), found)


class MainTest(unittest.TestCase):

    def run_main(self, dash, *args):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "d.json")
            with open(path, "w", encoding="utf-8") as f:
                if isinstance(dash, str):
                    f.write(dash)
                else:
                    json.dump(dash, f)
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), \
                    contextlib.redirect_stderr(err):
                status = cd.main([*args, path])
            return status, out.getvalue(), err.getvalue()

    def test_exit_status(self):
        status, out, _ = self.run_main(valid_dashboard())
        self.assertEqual(status, 0, out)
        d = valid_dashboard()
        del d["panels"][0]["fieldConfig"]["defaults"]["unit"]
        status, out, _ = self.run_main(d)
        self.assertEqual(status, 1)
        self.assertIn('panel "Used": no unit', out)
        status, _, err = self.run_main("{not json")
        self.assertEqual(status, 2)
        self.assertIn("cannot read JSON", err)

    def test_list_queries_substitutes_variables(self):
        d = valid_dashboard()
        d["panels"][0]["targets"].append({
            "datasource": DS, "refId": "B", "instant": True,
            "expr": f"increase(pgconn_polls_total{{{SEL}}}[$__range]) / "
                    f"$__range_s"})
        d["templating"]["list"][3]["allValue"] = "db.*"
        status, out, _ = self.run_main(d, "--list-queries",
                                       "--rate-interval", "2m")
        self.assertEqual(status, 0)
        rows = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([(r["panel"], r["refId"]) for r in rows],
                         [("Used", "A"), ("Used", "B"), ("Errors", "A"),
                          ("Up", "A")])
        for r in rows:
            self.assertEqual(r["dashboard"], "test-dash")
            self.assertNotIn("$", r["expr"])
        self.assertEqual(
            rows[0]["expr"],
            'pgconn_used_connections{job=~".*", instance=~".*", '
            'target=~"db.*"}')
        self.assertIn("[1h]) / 3600", rows[1]["expr"])
        self.assertTrue(rows[1]["instant"])
        self.assertIn("[2m]", rows[2]["expr"])

    def test_list_queries_with_variables(self):
        status, out, _ = self.run_main(valid_dashboard(), "--list-queries",
                                       "--with-variables")
        self.assertEqual(status, 0)
        rows = [json.loads(line) for line in out.splitlines()]
        variables = [r for r in rows if r["panel"].startswith("variable ")]
        self.assertEqual([r["expr"] for r in variables],
                         ["pgconn_up", 'pgconn_up{job=~".*"}',
                          'pgconn_up{job=~".*", instance=~".*"}'])

    def test_substitute_forms(self):
        d = valid_dashboard()
        self.assertEqual(
            cd.substitute('x{a=~"${job}", b=~"[[instance]]", c=~"${target:regex}"}'
                          "[$__rate_interval] offset $__interval", d,
                          rate_interval="1m", interval="30s"),
            'x{a=~".*", b=~".*", c=~".*"}[1m] offset 30s')


if __name__ == "__main__":
    unittest.main()
