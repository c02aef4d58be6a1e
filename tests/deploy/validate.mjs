// Validates Kubernetes objects against the published schemas of Kubernetes
// (kubernetes-models) and prometheus-operator
// (@kubernetes-models/prometheus-operator), in two ways:
//   - the packages' validators (types, required fields, enums, formats);
//   - TypeScript: each object as a typed literal, compiled with tsc, which
//     also refuses a field the schema does not have (a typo such as
//     readOnlyRootFileSystem), which the validators let through.
//
//   node validate.mjs OBJECTS.json WORKDIR
//
// OBJECTS.json: [{"where": "file#2 (Deployment pgconn)", "object": {...}}].
// Prints one line per problem, "WHERE: problem"; exit 1 if any.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const [objectsFile, work] = process.argv.slice(2);
const objects = JSON.parse(readFileSync(objectsFile, "utf8"));

// apiVersion -> the module folder of its kinds.
function modulePath(apiVersion, kind) {
  if (apiVersion.startsWith("monitoring.coreos.com/")) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

const problems = [];
const ts = [];
for (const [i, { where, object }] of objects.entries()) {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    problems.push(`${where}: no apiVersion or kind`);
    continue;
  }
  const mod = modulePath(apiVersion, kind);
  let Model;
  try {
    Model = (await import(mod))[kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    problems.push(`${where}: unknown apiVersion/kind ${apiVersion} ${kind}`);
    continue;
  }
  try {
    new Model(object).validate();
  } catch (e) {
    problems.push(`${where}: ${String(e.message).replace(/\s+/g, " ")}`);
  }
  const alias = `T${i}`;
  ts.push(`import type { I${kind} as ${alias} } from "${mod}";`);
  ts.push(`// ${where.replace(/\n/g, " ")}`);
  ts.push(`export const o${i}: ${alias} = ${JSON.stringify(object, null, 2)};`);
}

// The typed literals. Line numbers of tsc's errors map back to objects.
mkdirSync(work, { recursive: true });
try {
  symlinkSync(path.join(here, "node_modules"), path.join(work, "node_modules"));
} catch (e) {
  if (e.code !== "EEXIST") throw e;
}
const source = ts.join("\n") + "\n";
writeFileSync(path.join(work, "manifests.ts"), source);
writeFileSync(
  path.join(work, "tsconfig.json"),
  JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      module: "esnext",
      moduleResolution: "bundler",
      target: "es2022",
      skipLibCheck: true,
      types: [],
    },
    files: ["manifests.ts"],
  }),
);
const lines = source.split("\n");
function objectAt(line) {
  for (let l = line - 1; l >= 0; l--) {
    if (lines[l].startsWith("// ")) return lines[l].slice(3);
  }
  return "manifests.ts";
}
try {
  execFileSync(
    process.execPath,
    [require.resolve("typescript/bin/tsc"), "-p", work, "--pretty", "false"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
} catch (e) {
  const out = `${e.stdout || ""}${e.stderr || ""}`;
  for (const m of out.matchAll(/manifests\.ts\((\d+),\d+\): error (TS\d+: .*)/g)) {
    problems.push(`${objectAt(Number(m[1]))}: ${m[2]}`);
  }
  if (!/manifests\.ts\(/.test(out)) problems.push(`tsc failed: ${out.trim()}`);
}

for (const p of problems) console.log(p);
console.log(`validate: ${objects.length} object(s), ${problems.length} problem(s)`);
process.exit(problems.length ? 1 : 0);
