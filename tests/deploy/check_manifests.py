#!/usr/bin/python3
"""Checks deploy/kubernetes/: every manifest against the Kubernetes and
prometheus-operator schemas, the kustomizations, and what pgconn's
deployment promises.

  check_manifests.py [DEPLOY_DIR]     (default: the repository's)
  (environment: PGCONN_AGENT, the agent binary, to load ConfigMaps)

1. Each kustomization (DEPLOY_DIR and every folder below it with a
   kustomization.yaml) is rendered the way kustomize renders the subset we
   use: resources (files and other kustomizations), namespace, images, and
   patches (RFC 6902 operations, by target kind and name). Unknown
   kustomization fields fail, so a feature we do not render cannot slip in.
2. Every rendered object is validated by tests/deploy/validate.mjs
   (npm kubernetes-models and @kubernetes-models/prometheus-operator,
   pinned in tests/deploy/package-lock.json): the schemas' validators, and
   tsc on typed literals, which refuses unknown fields.
3. The Deployments: non-root (runAsNonRoot, uid 10001), read-only root
   filesystem, no privilege escalation, every capability dropped, seccomp
   RuntimeDefault, requests and limits for cpu and memory, liveness on
   /healthz and readiness on /readyz at the container's port, no Service
   links (PGCONN_* variables), and no password in the manifests: a DB_* or
   DATA_SOURCE_* password only as a *_FILE under a mounted Secret volume.
   The Service selects the pods and names their port; the ServiceMonitor
   selects the Service and scrapes a port it has; a ConfigMap's pgconn.yml
   names password files, never a password, and the real agent accepts it
   (with PGCONN_AGENT).
4. prometheusrule.yaml is what scripts/generate-prometheusrule.py writes.
Prints one line per problem; exit 1 if any.
"""
import copy
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
KUSTOMIZATION_KEYS = {"apiVersion", "kind", "namespace", "resources",
                      "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding",
                  "CustomResourceDefinition"}
UID = 10001
# The agent binary, to load the ConfigMaps' pgconn.yml (PGCONN_AGENT).
AGENT = os.environ.get("PGCONN_AGENT")


class Problems(list):
    def add(self, where, what):
        self.append(f"{where}: {what}")


def load_documents(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def pointer(path):
    if not path.startswith("/"):
        raise ValueError(f"JSON pointer {path!r} does not start with /")
    return [p.replace("~1", "/").replace("~0", "~")
            for p in path[1:].split("/")]


def apply_op(doc, op):
    """One RFC 6902 operation (add, replace, remove) on doc, in place."""
    parts = pointer(op["path"])
    parent = doc
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else parent[p]
    last = parts[-1]
    kind = op["op"]
    if isinstance(parent, list):
        if kind == "add":
            index = len(parent) if last == "-" else int(last)
            if index > len(parent):
                raise IndexError(f"{op['path']}: index out of range")
            parent.insert(index, copy.deepcopy(op["value"]))
            return
        index = int(last)
        if index >= len(parent):
            raise IndexError(f"{op['path']}: index out of range")
        if kind == "replace":
            parent[index] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del parent[index]
        else:
            raise ValueError(f"unsupported op {kind!r}")
        return
    if kind in ("replace", "remove") and last not in parent:
        raise KeyError(f"{op['path']}: no such member to {kind}")
    if kind in ("add", "replace"):
        parent[last] = copy.deepcopy(op["value"])
    elif kind == "remove":
        del parent[last]
    else:
        raise ValueError(f"unsupported op {kind!r}")


def render(directory, problems, seen=()):
    """The objects of the kustomization in directory, as (where, object)."""
    kfile = os.path.join(directory, "kustomization.yaml")
    where = os.path.relpath(kfile, ROOT)
    if directory in seen:
        problems.add(where, "includes itself")
        return []
    try:
        [k] = load_documents(kfile)
    except (OSError, ValueError, yaml.YAMLError) as e:
        problems.add(where, f"cannot read: {e}")
        return []
    for key in sorted(set(k) - KUSTOMIZATION_KEYS):
        problems.add(where, f"field {key!r} is not one this check renders "
                     f"({', '.join(sorted(KUSTOMIZATION_KEYS))})")
    if (k.get("apiVersion"), k.get("kind")) != (
            "kustomize.config.k8s.io/v1beta1", "Kustomization"):
        problems.add(where, "apiVersion/kind is not "
                     "kustomize.config.k8s.io/v1beta1 Kustomization")
    objects = []
    for res in k.get("resources") or []:
        path = os.path.normpath(os.path.join(directory, res))
        if os.path.isdir(path):
            if not os.path.exists(os.path.join(path, "kustomization.yaml")):
                problems.add(where, f"resource {res}: a folder without "
                             "kustomization.yaml")
                continue
            objects += render(path, problems, seen + (directory,))
        elif os.path.isfile(path):
            try:
                docs = load_documents(path)
            except yaml.YAMLError as e:
                problems.add(where, f"resource {res}: {e}")
                continue
            for i, d in enumerate(docs):
                objects.append((f"{os.path.relpath(path, ROOT)}#{i + 1}", d))
        else:
            problems.add(where, f"resource {res} does not exist")
    for patch in k.get("patches") or []:
        target = patch.get("target") or {}
        path = os.path.join(directory, patch.get("path", ""))
        pwhere = f"{where} patch {patch.get('path')}"
        if not os.path.isfile(path):
            problems.add(pwhere, "no such file")
            continue
        [ops] = load_documents(path)
        if not isinstance(ops, list):
            problems.add(pwhere, "not a list of RFC 6902 operations")
            continue
        hits = [o for _, o in objects
                if isinstance(o, dict) and
                o.get("kind") == target.get("kind") and
                (o.get("metadata") or {}).get("name") == target.get("name")]
        if len(hits) != 1:
            problems.add(pwhere, f"target {target} matches {len(hits)} "
                         "objects, want 1")
            continue
        for op in ops:
            try:
                apply_op(hits[0], op)
            except (KeyError, IndexError, ValueError, TypeError) as e:
                problems.add(pwhere, f"{op.get('op')} {op.get('path')}: {e}")
    for _, o in objects:
        if not isinstance(o, dict):
            continue
        if k.get("namespace") and o.get("kind") not in CLUSTER_SCOPED:
            o.setdefault("metadata", {})["namespace"] = k["namespace"]
        for image in k.get("images") or []:
            for c in containers(o):
                if c.get("image") == image["name"]:
                    c["image"] = (image.get("newName", image["name"]) + ":" +
                                  str(image["newTag"]))
    return objects


def containers(o):
    spec = (((o.get("spec") or {}).get("template") or {}).get("spec") or {})
    return (spec.get("containers") or []) + (spec.get("initContainers") or [])


def label(o):
    m = o.get("metadata") or {}
    return f"{o.get('kind')} {m.get('namespace', '')}/{m.get('name')}"


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v
                                  for k, v in selector.items())


def check_deployment(where, d, problems):
    spec = d["spec"]["template"]["spec"]
    pod_sc = spec.get("securityContext") or {}
    if pod_sc.get("runAsNonRoot") is not True or pod_sc.get("runAsUser") != UID:
        problems.add(where, f"pod securityContext: want runAsNonRoot and "
                     f"runAsUser {UID}")
    if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.add(where, "pod seccompProfile is not RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        problems.add(where, "mounts a service account token it does not use")
    if spec.get("enableServiceLinks") is not False:
        problems.add(where, "enableServiceLinks is not false (a Service "
                     "named pgconn would set PGCONN_* variables)")
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for c in spec.get("containers") or []:
        cw = f"{where} container {c.get('name')}"
        sc = c.get("securityContext") or {}
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.add(cw, "root filesystem is not read-only")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.add(cw, "allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            problems.add(cw, "privileged")
        if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
            problems.add(cw, "capabilities are not drop: [ALL]")
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in (res.get(kind) or {}):
                    problems.add(cw, f"no {kind}.{r}")
        ports = {p.get("name"): p.get("containerPort")
                 for p in c.get("ports") or []}
        for probe, path in (("livenessProbe", "/healthz"),
                            ("readinessProbe", "/readyz")):
            get = (c.get(probe) or {}).get("httpGet") or {}
            if get.get("path") != path:
                problems.add(cw, f"{probe} is not GET {path}")
            elif get.get("port") not in ports and \
                    get.get("port") not in ports.values():
                problems.add(cw, f"{probe} port {get.get('port')!r} is not "
                             "a port of the container")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
        for e in c.get("env") or []:
            name = e.get("name", "")
            secretish = re.search(r"PASS|SECRET|TOKEN|DATA_SOURCE_NAME|"
                                  r"DATABASE_URL|DATA_SOURCE_URI", name)
            if secretish and not name.endswith("_FILE"):
                problems.add(cw, f"env {name}: a secret in a variable; mount "
                             "it and name the file in {name}_FILE")
            if name.endswith("_FILE") and secretish:
                path = e.get("value", "")
                vol = next((volumes.get(n) for mp, n in mounts.items()
                            if path.startswith(mp.rstrip("/") + "/")), None)
                if not vol or "secret" not in vol:
                    problems.add(cw, f"env {name}={path} is not under a "
                                 "mounted Secret volume")


def check_config_map(where, o, problems):
    for key, text in (o.get("data") or {}).items():
        if not key.endswith((".yml", ".yaml")):
            continue
        try:
            cfg = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            problems.add(where, f"{key}: {e}")
            continue
        for t in cfg.get("targets") or []:
            if "password" in t or "url" in t and "@" in str(t["url"]):
                problems.add(where, f"{key}: target {t.get('name')} has a "
                             "password in the configuration; use "
                             "password_file")


def check_agent_config(where, o, agent, problems):
    """A ConfigMap's pgconn.yml loaded by the real agent (--once): it must
    be accepted (exit 2 is a configuration error) and poll exactly its
    targets. Hosts are pointed at a closed loopback port and the password
    files at empty files, so nothing leaves the machine."""
    for key, text in (o.get("data") or {}).items():
        if key != "pgconn.yml":
            continue
        cfg = yaml.safe_load(text) or {}
        names = [t.get("name") for t in cfg.get("targets") or []]
        with tempfile.TemporaryDirectory(prefix="pgconn-cm-") as tmp:
            for t in cfg.get("targets") or []:
                t["host"], t["port"] = "127.0.0.1", 9
                if t.get("password_file"):
                    path = os.path.join(tmp, os.path.basename(t["password_file"]))
                    open(path, "w").close()
                    t["password_file"] = path
            path = os.path.join(tmp, key)
            with open(path, "w") as f:
                yaml.safe_dump(cfg, f)
            r = subprocess.run([agent, f"--config.file={path}", "--once",
                                "--web.listen-address=127.0.0.1:0"],
                               capture_output=True, text=True, timeout=60)
        if r.returncode == 2:
            problems.add(where, f"{key}: the agent refuses it: "
                         f"{r.stderr.strip()[-500:]}")
            continue
        seen = re.findall(r'^pgconn_up\{target="([^"]*)"\}', r.stdout, re.M)
        if seen != names:
            problems.add(where, f"{key}: the agent polled {seen}, want {names}")


def check_objects(objects, problems):
    by_kind = {}
    for where, o in objects:
        by_kind.setdefault(o.get("kind"), []).append((where, o))
    for where, d in by_kind.get("Deployment", []):
        w = f"{where} ({label(d)})"
        try:
            check_deployment(w, d, problems)
        except (KeyError, TypeError, AttributeError) as e:
            problems.add(w, f"malformed: {e!r}")
    for where, o in by_kind.get("ConfigMap", []):
        check_config_map(f"{where} ({label(o)})", o, problems)
        if AGENT:
            check_agent_config(f"{where} ({label(o)})", o, AGENT, problems)
    pods = [(o, ((o.get("spec") or {}).get("template") or {})) for _, o in
            by_kind.get("Deployment", [])]
    for where, s in by_kind.get("Service", []):
        w = f"{where} ({label(s)})"
        spec = s.get("spec") or {}
        matched = [(d, t) for d, t in pods
                   if selects(spec.get("selector"),
                              (t.get("metadata") or {}).get("labels") or {})]
        if not matched:
            problems.add(w, "selects no Deployment's pods")
        for p in spec.get("ports") or []:
            names = {cp.get("name") for _, t in matched
                     for c in (t.get("spec") or {}).get("containers") or []
                     for cp in c.get("ports") or []}
            if isinstance(p.get("targetPort"), str) and \
                    p["targetPort"] not in names:
                problems.add(w, f"targetPort {p['targetPort']!r} is no "
                             "container port of the pods it selects")
    services = by_kind.get("Service", [])
    for where, m in by_kind.get("ServiceMonitor", []):
        w = f"{where} ({label(m)})"
        spec = m.get("spec") or {}
        sel = (spec.get("selector") or {}).get("matchLabels")
        matched = [s for _, s in services
                   if selects(sel, (s.get("metadata") or {}).get("labels")
                              or {})]
        if not matched:
            problems.add(w, "selects no Service")
        ports = {p.get("name") for s in matched
                 for p in (s.get("spec") or {}).get("ports") or []}
        for e in spec.get("endpoints") or []:
            if e.get("port") not in ports:
                problems.add(w, f"endpoint port {e.get('port')!r} is not a "
                             "port of the Service")


def check_generated_rule(deploy_dir, problems):
    gen = os.path.join(ROOT, "scripts", "generate-prometheusrule.py")
    sys.path.insert(0, os.path.dirname(gen))
    import importlib.util
    spec = importlib.util.spec_from_file_location("generate_rule", gen)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = os.path.join(deploy_dir, "prometheusrule.yaml")
    if not os.path.exists(path) or open(path).read() != module.render():
        problems.add(os.path.relpath(path, ROOT),
                     "differs from what scripts/generate-prometheusrule.py "
                     "writes from alerts/*.yml: run the script")


def validate(objects, problems):
    """Runs validate.mjs on (where, object) pairs: the schema problems,
    each "where: problem"."""
    modules = os.path.join(HERE, "node_modules")
    for need in ("kubernetes-models", "@kubernetes-models/prometheus-operator",
                 "typescript"):
        if not os.path.isdir(os.path.join(modules, need)):
            problems.add(modules, f"lacks {need}: run npm ci --prefix "
                         "tests/deploy (scripts/install-deps.sh does)")
            return
    with tempfile.TemporaryDirectory(prefix="pgconn-manifests-") as work:
        path = os.path.join(work, "objects.json")
        with open(path, "w") as f:
            json.dump([{"where": w, "object": o} for w, o in objects], f)
        r = subprocess.run(["node", os.path.join(HERE, "validate.mjs"), path,
                            os.path.join(work, "ts")],
                           capture_output=True, text=True)
        lines = r.stdout.splitlines()
        problems.extend(lines[:-1])
        if r.returncode != 0 and len(lines) <= 1:
            problems.append(f"validate.mjs failed: {r.stdout}{r.stderr}")


def collect(deploy_dir, problems):
    """Renders every kustomization under deploy_dir and runs the checks
    that need no schema; returns the (where, object) pairs to validate and
    a summary line per kustomization."""
    dirs = sorted(root for root, _, files in os.walk(deploy_dir)
                  if "kustomization.yaml" in files)
    if not dirs:
        problems.add(deploy_dir, "no kustomization.yaml")
    rendered, summary = [], []
    for d in dirs:
        objects = []
        for w, o in render(d, problems):
            if isinstance(o, dict):
                objects.append((w, o))
            else:
                problems.add(w, "not a mapping")
        name = os.path.relpath(d, ROOT)
        summary.append(f"{name}: {len(objects)} objects: " +
                       ", ".join(label(o) for _, o in objects))
        check_objects(objects, problems)
        rendered += [(f"[{name}] {w} ({label(o)})", o) for w, o in objects]
    check_generated_rule(deploy_dir, problems)
    return rendered, summary


def check(deploy_dir):
    problems = Problems()
    rendered, _ = collect(deploy_dir, problems)
    validate(rendered, problems)
    return problems


def main(argv):
    deploy_dir = os.path.abspath(argv[1] if len(argv) > 1 else
                                 os.path.join(ROOT, "deploy", "kubernetes"))
    problems = Problems()
    rendered, summary = collect(deploy_dir, problems)
    for line in summary:
        print(f"check_manifests: {line}")
    validate(rendered, problems)
    print(f"check_manifests: {len(rendered)} objects validated against "
          "kubernetes-models and @kubernetes-models/prometheus-operator")
    for p in problems:
        print(p)
    print(f"check_manifests: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
