import assert from "node:assert/strict";
import { test } from "node:test";
import { collectChildResults } from "./previous-results.ts";

const apply = {
  stage: "apply",
  status: "pass",
  summary: "applied 1/1",
  startedAt: "t0",
  endedAt: "t1",
  runner: "r1",
  data: { tree: "bpf-next", branch: "master", baseCommit: "abc", baseRule: "given", baseNotes: [], head: "def", applied: 1, total: 1, failure: null, rejected: [] },
};
const sample = { cell: { test: "TCP_RR", size: 1, topology: "loopback" }, variant: "base", round: 0, run: 0, slot: 0, startedAt: "t", endedAt: "t", values: {}, throughput: null, ok: false };
const bench = {
  stage: "bench",
  status: "pass",
  summary: "1 cell",
  startedAt: "t2",
  endedAt: "t3",
  runner: "r1",
  data: {
    cells: [sample.cell],
    variants: [{ name: "base", settings: [{ kind: "kernel", ref: "base" }] }],
    design: "abba",
    rounds: 1,
    runsPerRound: 1,
    durationSec: 1,
    pinning: null,
    samples: [sample],
    profile: {},
    warnings: [],
    problems: [],
    commands: [],
    // A field a newer runner adds is kept, not dropped.
    futureField: 7,
  },
};

test("child results that fit their stage's schema come through typed; NaN throughput survives JSON; unknown fields are kept", () => {
  const json = JSON.parse(JSON.stringify({ results: [apply, bench] })) as unknown;
  const { results, errors } = collectChildResults({ "bull:runner:flow-1-bench": json }, {});
  assert.deepEqual(errors, []);
  assert.deepEqual(results.map((r) => r.stage), ["apply", "bench"]);
  const b = results[1]!;
  assert.ok(b.stage === "bench" && b.data);
  assert.ok(Number.isNaN(b.data.samples[0]!.throughput));
  assert.equal((b.data as unknown as { futureField: number }).futureField, 7);
});

test("a malformed result is an error of its stage with the failing path; the other stages' results stay", () => {
  const broken = { ...bench, data: { ...bench.data, samples: [{ ...sample, round: "zero" }] } };
  const { results, errors } = collectChildResults({ "bull:runner:flow-1-bench": { results: [apply, broken] } }, {});
  assert.deepEqual(results.map((r) => r.stage), ["apply"]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.stage, "bench");
  assert.match(errors[0]!.reason, /^the bench result was malformed and is left out: data\.samples\.0\.round: /);
});

test("a child that returned no results, earlier errors and ignored failures all become errors of their stage", () => {
  const { results, errors } = collectChildResults(
    { "bull:runner:flow-1-build": "nonsense", "bull:runner:flow-1-apply": { results: [], errors: [{ stage: "apply", reason: "runner lost" }, { stage: "nope", reason: 1 }] } },
    { "bull:runner:flow-1-selftests": "died after 3 attempts" },
  );
  assert.deepEqual(results, []);
  assert.deepEqual(errors, [
    { stage: "build", reason: "the build job returned no results (bull:runner:flow-1-build)" },
    { stage: "apply", reason: "runner lost" },
    { stage: "selftests", reason: "died after 3 attempts" },
  ]);
});
