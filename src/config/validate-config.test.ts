import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIssue, validateConfig } from "./validate-config.ts";

test("defaults validate with no files", () => {
  const r = validateConfig({ global: null, trees: [{ file: "t.yaml", text: "name: bpf-next\nurl: /x\n" }] });
  assert.deepEqual(r.errors, []);
  assert.equal(r.global?.redis.prefix, "patchbench");
  assert.equal(r.trees[0]?.bench.rounds, 6);
});

test("every error names file, path and what was expected", () => {
  const r = validateConfig({
    global: { file: "g.yaml", text: "redis:\n  url: http://x\nlogLevel: loud\n" },
    trees: [{ file: "bpf-next.yaml", text: "name: bpf-next\nurl: /x\nbench:\n  sizes: [1, -5]\n  rounds: 40\n  maxRounds: 8\n" }],
  });
  const lines = r.errors.map(formatIssue);
  assert.ok(lines.some((l) => l.startsWith("g.yaml: logLevel:")), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("bpf-next.yaml: bench.sizes.1:")), lines.join("\n"));
});

test("overrides beat the file; bad redis scheme is refused", () => {
  const r = validateConfig({
    global: { file: "g.yaml", text: "dataDir: /from/file\n" },
    trees: [{ file: "bpf-next.yaml", text: "name: bpf-next\nurl: /x\n" }],
    overrides: { dataDir: "/from/flag", redisUrl: "http://nope" },
  });
  assert.equal(r.global?.dataDir, "/from/flag");
  assert.ok(r.errors.some((e) => e.path === "redis.url"));
});

test("unknown keys and YAML syntax errors are reported, not ignored", () => {
  const r = validateConfig({
    global: { file: "g.yaml", text: "redsi: {}\n" },
    trees: [{ file: "bpf-next.yaml", text: "name: [unclosed\n" }],
  });
  assert.ok(r.errors.some((e) => e.file === "g.yaml" && /redsi/.test(e.message)), JSON.stringify(r.errors));
  assert.ok(r.errors.some((e) => e.file === "bpf-next.yaml" && e.message.startsWith("YAML")));
});

test("a matrix over budget is a warning", () => {
  const r = validateConfig({
    global: null,
    trees: [{ file: "t.yaml", text: "name: bpf-next\nurl: /x\nbench:\n  budgetSec: 60\n" }],
  });
  assert.ok(r.warnings.some((w) => w.path === "bench"));
});
