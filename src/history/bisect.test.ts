import assert from "node:assert/strict";
import { test } from "node:test";
import { type BisectState, bisectRunnerSec, bisectStateSchema, nextStep, recordStep, startBisect } from "./bisect.ts";

const commits = Array.from({ length: 16 }, (_, i) => `c${String(i).padStart(2, "0")}${"0".repeat(37)}`);
const start = () => startBisect({ tree: "t", cell: "TCP_RR/loopback/1", direction: "regression", good: "g".repeat(40), commits });

/** Run the machine against an oracle: a commit at or after `firstBad` regresses. */
function run(s: BisectState, oracle: (index: number, tries: number) => string | null, limit = 40): { s: BisectState; measured: number[] } {
  const measured: number[] = [];
  for (let k = 0; k < limit; k++) {
    const n = nextStep(s);
    if (n.kind !== "measure") return { s, measured };
    measured.push(n.index);
    const verdict = oracle(n.index, s.steps.filter((x) => x.commit === n.commit).length);
    s = recordStep(s, { commit: n.commit, verdict, ratio: verdict === "regression" ? 0.95 : 1, ci: [0.94, 0.96], runnerSec: 600 });
  }
  throw new Error("did not finish");
}

test("every first bad commit of a 16-commit range is found in at most 4 steps (log2 16)", () => {
  for (let bad = 0; bad < commits.length; bad++) {
    const { s, measured } = run(start(), (i) => (i >= bad ? "regression" : "no change"));
    assert.deepEqual(nextStep(s), { kind: "found", commit: commits[bad], index: bad }, `first bad ${bad}`);
    assert.ok(measured.length <= 4, `${measured.length} steps for ${bad}`);
    assert.equal(bisectRunnerSec(s), measured.length * 600);
  }
});

test("inconclusive is measured again with more rounds once; noisy, twice inconclusive or no numbers are skipped and stepped around", () => {
  const bad = 9;
  let first = true;
  const { s } = run(start(), (i, tries) => {
    if (first) {
      first = false;
      assert.equal(tries, 0);
      return "inconclusive";
    }
    if (i === 11) return "noisy";
    if (i === 10) return null;
    return i >= bad ? "regression" : "no change";
  });
  assert.deepEqual(nextStep(s), { kind: "found", commit: commits[bad], index: bad });
  const outcomes = s.steps.map((x) => x.outcome);
  assert.equal(outcomes[0], "again");
  assert.equal(s.steps[1]!.commit, s.steps[0]!.commit, "the same commit, measured again");
  const once = recordStep(start(), { commit: commits[7]!, verdict: "inconclusive", ratio: null, ci: null, runnerSec: 1 });
  assert.deepEqual(nextStep(once), { kind: "measure", commit: commits[7], index: 7, more: true }, "the repeat asks for more rounds");
  // The state is plain JSON: stored after each step and read back on a restart.
  assert.deepEqual(bisectStateSchema.parse(JSON.parse(JSON.stringify(s))), s);
});

test("a range whose every open commit was skipped is stuck and names the candidates; a verdict for a commit outside the range is refused", () => {
  const { s } = run(start(), (i) => (i >= 14 ? "regression" : i >= 12 ? "noisy" : "no change"));
  const n = nextStep(s);
  assert.equal(n.kind, "stuck");
  assert.deepEqual(n.kind === "stuck" ? n.candidates : [], commits.slice(12, 15));
  assert.throws(() => recordStep(s, { commit: commits[0]!, verdict: "no change", ratio: 1, ci: null, runnerSec: 1 }), /not in the open range/);
  const improvement = startBisect({ tree: "t", cell: "c", direction: "improvement", good: "g", commits: commits.slice(0, 2) });
  assert.equal(recordStep(improvement, { commit: commits[0]!, verdict: "regression", ratio: 0.9, ci: null, runnerSec: 1 }).steps[0]!.outcome, "skipped", "the other direction is not this change");
});
