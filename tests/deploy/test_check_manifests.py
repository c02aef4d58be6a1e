#!/usr/bin/python3
"""check_manifests.py finds the mistakes it is meant to find: the real
deploy/kubernetes/ passes, and each copy with one planted mistake fails
with the expected problem.

  PGCONN_AGENT=build/pgconn-agent test_check_manifests.py
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_manifests  # noqa: E402

# (file under deploy/kubernetes, old text, new text, expected problem)
MUTATIONS = [
    # The schemas: an unknown field (a typo), a wrong type, an enum.
    ("deployment.yaml", "readOnlyRootFilesystem: true",
     "readOnlyRootFileSystem: true",
     "readOnlyRootFileSystem\"' does not exist in type 'ISecurityContext'"),
    ("deployment.yaml", "replicas: 1", "replicas: one",
     "data/spec/replicas must be integer"),
    ("deployment.yaml", "kind: Deployment", "kind: Deploymant",
     "unknown apiVersion/kind apps/v1 Deploymant"),
    ("servicemonitor.yaml", "interval: 15s", "intervall: 15s",
     "intervall\"' does not exist in type 'IEndpoint'"),
    ("fleet/scrapeconfig.yaml", "refreshInterval: 1m",
     "refreshInterval: every minute",
     "data/spec/httpSDConfigs/0/refreshInterval must match pattern"),
    # The promises of the Deployment.
    ("deployment.yaml", "allowPrivilegeEscalation: false",
     "allowPrivilegeEscalation: true", "allowPrivilegeEscalation is not false"),
    ("deployment.yaml", "type: RuntimeDefault", "type: Unconfined",
     "seccompProfile is not RuntimeDefault"),
    ("deployment.yaml", 'drop: ["ALL"]', 'drop: ["NET_RAW"]',
     "capabilities are not drop: [ALL]"),
    ("deployment.yaml", "runAsUser: 10001", "runAsUser: 0",
     "want runAsNonRoot and runAsUser 10001"),
    ("deployment.yaml", "path: /readyz", "path: /metrics",
     "readinessProbe is not GET /readyz"),
    ("deployment.yaml", "              memory: 64Mi\n", "",
     "no limits.memory"),
    ("deployment.yaml",
     "            - name: DB_PASSWORD_FILE\n"
     "              value: /run/secrets/pgconn/password",
     "            - name: DB_PASSWORD\n              value: hunter2",
     "env DB_PASSWORD: a secret in a variable"),
    ("deployment.yaml", "value: /run/secrets/pgconn/password",
     "value: /etc/pgconn/password", "is not under a mounted Secret volume"),
    ("deployment.yaml", "enableServiceLinks: false",
     "enableServiceLinks: true", "enableServiceLinks is not false"),
    ("fleet/configmap.yaml", "        dbname: billing",
     "        dbname: billing\n        sslmod: require",
     'the agent refuses it: pgconn-agent: '),
    ("fleet/configmap.yaml",
     "        password_file: /run/secrets/pgconn/orders",
     "        password: hunter2", "target orders has a password"),
    # How the pieces fit.
    ("service.yaml", "targetPort: http", "targetPort: web",
     "targetPort 'web' is no container port"),
    ("servicemonitor.yaml", "    - port: http", "    - port: metrics",
     "endpoint port 'metrics' is not a port of the Service"),
    ("servicemonitor.yaml", "      app.kubernetes.io/name: pgconn\n  endpoints",
     "      app.kubernetes.io/name: pgconn-agent\n  endpoints",
     "selects no Service"),
    ("kustomization.yaml", "  - service.yaml",
     "  - service.yaml\n  - missing.yaml",
     "resource missing.yaml does not exist"),
    ("kustomization.yaml", "namespace: monitoring",
     "namespace: monitoring\ncommonLabels: {team: db}",
     "field 'commonLabels' is not one this check renders"),
    ("fleet/deployment-patch.yaml", "containers/0/volumeMounts/-",
     "containers/0/volumeMount/-", "patch deployment-patch.yaml: add"),
    # The generated PrometheusRule.
    ("prometheusrule.yaml", "for: 2m", "for: 3m",
     "differs from what scripts/generate-prometheusrule.py writes"),
    ("prometheusrule.yaml", "    - alert: PgconnPgbouncerDown",
     "    - alertname: PgconnPgbouncerDown",
     "alertname\"' does not exist in type 'IRule'"),
]


def main():
    if not check_manifests.AGENT:
        print("test_check_manifests: set PGCONN_AGENT to the agent binary")
        return 1
    source = os.path.join(check_manifests.ROOT, "deploy", "kubernetes")
    failures = []
    with tempfile.TemporaryDirectory(prefix="pgconn-deploy-") as tmp:
        # One copy per mutation (copy 0 is the real thing), rendered and
        # checked one by one; then one schema run over all of them, whose
        # problems are told apart by the copy's folder.
        copies, problems, objects = [], {}, []
        for i, mutation in enumerate([None] + MUTATIONS):
            copy = os.path.join(tmp, f"m{i}", "kubernetes")
            shutil.copytree(source, copy)
            if mutation:
                path, old, new, _ = mutation
                target = os.path.join(copy, path)
                text = open(target).read()
                if old not in text:
                    failures.append(f"{path}: mutation source not found: "
                                    f"{old!r}")
                with open(target, "w") as f:
                    f.write(text.replace(old, new, 1))
            found = check_manifests.Problems()
            rendered, _ = check_manifests.collect(copy, found)
            copies.append(copy)
            problems[copy] = list(found)
            objects += rendered
        schema = check_manifests.Problems()
        check_manifests.validate(objects, schema)
        for p in schema:
            for copy in copies:
                if os.path.relpath(copy, check_manifests.ROOT) + "/" in p:
                    problems[copy].append(p)
        if problems[copies[0]]:
            failures.append(f"the real manifests fail: {problems[copies[0]]}")
        for copy, mutation in zip(copies[1:], MUTATIONS):
            path, old, new, want = mutation
            if not any(want in p for p in problems[copy]):
                failures.append(f"{path}: {old!r} -> {new!r}: want {want!r}, "
                                f"got {problems[copy]}")
    for f in failures:
        print(f)
    print(f"test_check_manifests: {len(MUTATIONS)} mutations, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
