import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { globalSchema, treeSchema } from "../src/config/schema.ts";
import { PROJECT_ROOT } from "./helpers/fixtures.ts";

/** Every option of the schema is documented in README.md (keeps the README true). */
function paths(value: unknown, prefix = ""): string[] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const p = prefix ? `${prefix}.${k}` : k;
    const group = v !== null && typeof v === "object" && !Array.isArray(v);
    out.push(...(group ? paths(v, p) : [p]));
  }
  return out;
}

test("README documents every configuration option", () => {
  const readme = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");
  const missing: string[] = [];
  const check = (p: string, scope: string) => {
    const last = p.split(".").pop()!;
    // Options appear in the tables as `a.b.c`, or as a group `a.b` / `c`.
    if (!readme.includes(`\`${p}\``) && !readme.includes(`\`${p.replace(/\.[^.]+$/, "")}.${last}`) && !readme.includes(`/ \`${last}\``)) {
      missing.push(`${scope}: ${p}`);
    }
  };
  for (const p of paths(globalSchema.parse({}))) check(p, "patchbench.yaml");
  for (const p of paths(treeSchema.parse({ name: "x", url: "y" }))) if (!p.startsWith("bench.pinning.")) check(p, "trees/<name>.yaml");
  assert.deepEqual(missing, []);
});

/** `a.b: value` as the README writes a shipped setting: lists in YAML flow style. */
function shippedSetting(path: string, v: unknown): string {
  return `\`${path}: ${Array.isArray(v) ? `[${v.join(", ")}]` : String(v)}\``;
}

test("README names every option the shipped config/ sets away from the built-in default", () => {
  const readme = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");
  const flat = (v: unknown, prefix = "", out = new Map<string, unknown>()) => {
    if (v && typeof v === "object" && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) flat(x, prefix ? `${prefix}.${k}` : k, out);
    else out.set(prefix, v);
    return out;
  };
  const config = join(PROJECT_ROOT, "config");
  const files: [string, unknown, unknown][] = [
    ["patchbench.yaml", parse(readFileSync(join(config, "patchbench.yaml"), "utf8")), globalSchema.parse({})],
    ["trees/bpf-next.yaml", parse(readFileSync(join(config, "trees", "bpf-next.yaml"), "utf8")), treeSchema.parse({ name: "bpf-next", url: "x" })],
  ];
  const missing: string[] = [];
  for (const [file, shipped, defaults] of files) {
    const d = flat(defaults);
    for (const [path, v] of flat(shipped)) {
      if (path === "name" || path === "url" || JSON.stringify(v) === JSON.stringify(d.get(path))) continue;
      if (!readme.includes(shippedSetting(path, v))) missing.push(`${file}: ${shippedSetting(path, v)}`);
    }
  }
  assert.deepEqual(missing, []);
});

/** The words of `NAME=(a b c)` / `NAME="a b c ${…}"` in a shell script. */
function shellWords(script: string, name: string): string[] {
  const text = readFileSync(join(PROJECT_ROOT, "scripts", script), "utf8");
  const m = new RegExp(`${name}=\\(([^)]*)\\)|${name}="([^"$]*)`).exec(text);
  assert.ok(m, `${name} in scripts/${script}`);
  return (m[1] ?? m[2] ?? "").trim().split(/\s+/);
}

test("README Quick start names the Debian packages the demo and npm test install, and no more", () => {
  const readme = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");
  const start = readme.indexOf("Both commands install what they need");
  const both = readme.slice(start, readme.indexOf("`npm test` also installs", start));
  const testOnly = readme.slice(readme.indexOf("`npm test` also installs", start), readme.indexOf("kernel tier's packages", start));
  const named = (text: string) => [...text.matchAll(/`([a-z0-9][a-z0-9.+-]*)`/g)].map((m) => m[1]!).filter((w) => w !== "patchbench-sandbox");
  assert.deepEqual(named(both).sort(), shellWords("setup-system.sh", "PACKAGES").sort());
  assert.deepEqual(named(testOnly).sort(), shellWords("test.sh", "PATCHBENCH_SETUP_EXTRA").sort());
});
