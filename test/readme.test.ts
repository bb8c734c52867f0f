import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
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
