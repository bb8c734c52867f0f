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
  assert.ok(lines.some((l) => l.startsWith("g.yaml:3:11: logLevel:")), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("bpf-next.yaml:4:14: bench.sizes.1:")), lines.join("\n"));
});

test("overrides beat the file; bad redis scheme is refused", () => {
  const r = validateConfig({
    global: { file: "g.yaml", text: "dataDir: /from/file\n" },
    trees: [{ file: "bpf-next.yaml", text: "name: bpf-next\nurl: /x\n" }],
    overrides: { dataDir: "/from/flag", redisUrl: "http://nope" },
  });
  assert.equal(r.global?.dataDir, "/from/flag");
  assert.ok(r.errors.some((e) => e.path === "redis.url"));
  const priv = validateConfig({ global: { file: "g.yaml", text: "redis:\n  url: private\n" }, trees: [{ file: "bpf-next.yaml", text: "name: bpf-next\nurl: /x\n" }] });
  assert.deepEqual(priv.errors, []);
  assert.equal(priv.global?.redis.url, "private");
});

test("unknown keys and YAML syntax errors are reported, not ignored", () => {
  const r = validateConfig({
    global: { file: "g.yaml", text: "redsi: {}\n" },
    trees: [{ file: "bpf-next.yaml", text: "name: [unclosed\n" }],
  });
  assert.ok(r.errors.some((e) => e.file === "g.yaml" && e.message === 'unknown key "redsi" (did you mean "redis"?)' && e.line === 1 && e.col === 1), JSON.stringify(r.errors));
  assert.ok(r.errors.some((e) => e.file === "bpf-next.yaml" && e.message.startsWith("YAML") && e.line === 2), JSON.stringify(r.errors));
});

test("a matrix over budget is a warning", () => {
  const r = validateConfig({
    global: null,
    trees: [{ file: "t.yaml", text: "name: bpf-next\nurl: /x\nbench:\n  budgetSec: 60\n" }],
  });
  assert.ok(r.warnings.some((w) => w.path === "bench"));
});

test("runner.sandbox: none is a loud warning; github.maxCommits points to ingest.maxPatches", () => {
  const tree = [{ file: "t.yaml", text: "name: bpf-next\nurl: /x\n" }];
  const none = validateConfig({ global: { file: "g.yaml", text: "runner:\n  sandbox: none\n" }, trees: tree });
  assert.deepEqual(none.errors, []);
  assert.match(none.warnings.find((w) => w.path === "runner.sandbox")?.message ?? "", /runner's privileges/);
  assert.equal(validateConfig({ global: null, trees: tree }).warnings.some((w) => w.path === "runner.sandbox"), false);
  const old = validateConfig({ global: { file: "g.yaml", text: "github:\n  maxCommits: 50\n" }, trees: tree });
  assert.ok(old.errors.some((e) => e.path === "github.maxCommits" && /ingest\.maxPatches/.test(e.message)), JSON.stringify(old.errors));
  const caps = validateConfig({ global: { file: "g.yaml", text: "ingest:\n  maxPatches: 20\n  maxSeriesBytes: 100000\n" }, trees: tree });
  assert.deepEqual([caps.global?.ingest.maxPatches, caps.global?.ingest.maxSeriesBytes], [20, 100000]);
});

test("moved mail /bench keys are errors that say where they went; maintainers without an authserv-id warn", () => {
  const tree = [{ file: "t.yaml", text: "name: bpf-next\nurl: /x\n" }];
  const old = validateConfig({ global: { file: "g.yaml", text: "github:\n  bench:\n    maintainers: [a@b.example]\n    trustedAuthservIds: []\n" }, trees: tree });
  assert.deepEqual(
    old.errors.map((e) => `${e.path}: ${e.message.split(" (")[0]}`),
    ["github.bench.maintainers: moved to mail.bench.maintainers", "github.bench.trustedAuthservIds: moved to mail.bench.trustedAuthservIds"],
  );
  const off = validateConfig({ global: { file: "g.yaml", text: "mail:\n  bench:\n    maintainers: [a@b.example]\n" }, trees: tree });
  assert.deepEqual(off.errors, []);
  assert.ok(off.warnings.some((w) => w.path === "mail.bench.trustedAuthservIds" && /\/bench by mail is off/.test(w.message)));
  const on = validateConfig({ global: { file: "g.yaml", text: "mail:\n  bench:\n    maintainers: [a@b.example]\n    trustedAuthservIds: [mx.b.example]\n" }, trees: tree });
  assert.deepEqual(on.warnings.filter((w) => w.path.startsWith("mail")), []);
});

test("unknown keys deep in a tree file: did you mean, or the known keys when nothing is close", () => {
  const r = validateConfig({
    global: null,
    trees: [{ file: "t.yaml", text: "name: bpf-next\nurl: /x\nbench:\n  roundz: 3\n  variants:\n    - name: a\n      setings: []\n    - name: b\n      settings: []\nbuild:\n  zzzzzz: 1\n" }],
  });
  const lines = r.errors.map(formatIssue);
  assert.ok(lines.includes('t.yaml:4:3: bench: unknown key "roundz" (did you mean "rounds"?)'), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith('t.yaml:7:7: bench.variants.0: unknown key "setings" (did you mean "settings"?)')), lines.join("\n"));
  assert.ok(lines.some((l) => /^t\.yaml:11:3: build: unknown key "zzzzzz" \(known: .*baseConfig/.test(l)), lines.join("\n"));
});

test("each validated config owns its objects: changing one leaves the defaults of the next alone", () => {
  const tree = [{ file: "t.yaml", text: "name: bpf-next\nurl: /x\n" }];
  const first = validateConfig({ global: null, trees: tree, overrides: { redisUrl: "redis://127.0.0.1:1" } });
  first.global!.github.bench.pools.push("elsewhere");
  first.trees[0]!.bench.sizes.push(4096);
  const second = validateConfig({ global: null, trees: tree });
  assert.equal(second.global!.redis.url, null);
  assert.deepEqual(second.global!.github.bench.pools, ["local"]);
  assert.equal(second.trees[0]!.bench.sizes.includes(4096), false);
});

test("history is refused on a tree that would not measure its tips as kernels, and accepted on one that does", () => {
  const tree = (extra: string) => validateConfig({ global: null, trees: [{ file: "t.yaml", text: `name: bpf-next\nurl: /x\nhistory:\n  enabled: true\n${extra}` }] });
  const lines = (extra: string) => tree(extra).errors.map(formatIssue);
  assert.match(lines("").join("\n"), /t\.yaml:4:\d+: history\.enabled: history needs the build and bench stages/);
  assert.match(lines("stages: [apply, build, bench]\nbench:\n  sides: settings\n").join("\n"), /history measures kernels: bench\.sides settings/);
  const ok = tree("stages: [apply, build, bench]\n");
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.trees[0]?.history.everyHours, 24);
});

test("BPF programs from the series: named, not a path; only in arms", () => {
  const tree = (bench: string) => validateConfig({ global: null, trees: [{ file: "t.yaml", text: `name: bpf-next\nurl: /x\nstages: [apply, build, bench]\nbench:\n${bench}` }] });
  const arm = (setting: string) => tree(`  arms:\n    - name: splice\n      settings:\n        - ${setting}\n`);
  const ok = arm("{ kind: bpf-cgroup, source: series, object: tcp_splice_sockops }");
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.trees[0]?.bench.arms[0]?.settings[0], { kind: "bpf-cgroup", source: "series", object: "tcp_splice_sockops" });
  // Without source an object stays a file on the runner, as before.
  assert.deepEqual(arm("{ kind: tc-bpf, object: /srv/o.o }").trees[0]?.bench.arms[0]?.settings[0], { kind: "tc-bpf", object: "/srv/o.o", section: "tc", side: "client", source: "runner" });
  assert.match(arm("{ kind: tc-bpf, source: series, object: ../progs/x.c }").errors.map(formatIssue).join("\n"), /with source: series, object names a program of tools\/testing\/selftests\/bpf\/progs/);
  const shared = tree("  kernelSettings:\n    - { kind: bpf-cgroup, source: series, object: x }\n");
  assert.match(shared.errors.map(formatIssue).join("\n"), /a program from the series exists only in the candidate kernel's tree: name it in an arm, not in kernelSettings/);
  const hostVariant = tree("  variants:\n    - { name: a, settings: [] }\n    - { name: b, settings: [{ kind: tc-bpf, source: series, object: x }] }\n");
  assert.match(hostVariant.errors.map(formatIssue).join("\n"), /name it in an arm, not in a settings variant/);
});

test("a pool name that cannot name a queue is refused where it is written (tree pool, runner.pool, github.bench.pools)", () => {
  const r = validateConfig({
    global: { file: "g.yaml", text: "runner:\n  pool: lab.1\ngithub:\n  bench:\n    pools: [local, 'x y']\n" },
    trees: [{ file: "bpf-next.yaml", text: "name: bpf-next\nurl: /x\npool: bare.metal\n" }],
  });
  assert.deepEqual(r.errors.map((e) => `${e.file} ${e.path}`).sort(), ["bpf-next.yaml pool", "g.yaml github.bench.pools.1", "g.yaml runner.pool"]);
  assert.ok(r.errors.every((e) => /letters, digits, _ and -/.test(formatIssue(e))), r.errors.map(formatIssue).join("\n"));
  const ok = validateConfig({ global: { file: "g.yaml", text: "runner:\n  pool: bare_metal-2\n" }, trees: [{ file: "bpf-next.yaml", text: "name: bpf-next\nurl: /x\npool: bare_metal-2\n" }] });
  assert.deepEqual(ok.errors, []);
});
