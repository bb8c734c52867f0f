import assert from "node:assert/strict";
import { test } from "node:test";
import { golden } from "../../test/helpers/golden.ts";
import { createRng } from "../domain/create-rng.ts";
import { chainEvidence, findCandidateChanges, judgeChangePoints } from "./candidate-changes.ts";
import { CellHistorySchema, findChangePoints, type HistoryPoint, type StepRatio } from "./change-points.ts";

const sha = (i: number): string => (0xa1b2c3d4e5f6 + i * 0x1111).toString(16).padEnd(40, "0");

function step(ratio: number, halfWidth: number, cv = 0.005): StepRatio {
  return { ratio, ciLow: ratio * (1 - halfWidth), ciHigh: ratio * (1 + halfWidth), cv };
}

/** 40 tips, 1% noise, −6% from tip 20; the chain's step at tip 20 says `at20`, the others ≈ 1. */
function history(at20: StepRatio | null, seed = 1): HistoryPoint[] {
  const rng = createRng(seed);
  return Array.from({ length: 40 }, (_, i) => ({
    commit: sha(i),
    value: 40000 * (i >= 20 ? 0.94 : 1) * (1 + 0.01 * rng.normal()),
    ratioToPrevious: i === 0 ? null : i === 20 ? at20 : step(1 + 0.004 * rng.normal(), 0.012),
  }));
}

test("a change point the A/B step across it confirms is a candidate; its ends are the bisection's good and bad tips", () => {
  const [c] = findCandidateChanges(history(step(0.94, 0.012)));
  assert.ok(c);
  assert.equal(c.index, 20);
  assert.equal(c.previousCommit, sha(19));
  assert.equal(c.commit, sha(20));
  assert.equal(c.candidate, true);
  assert.ok(Math.abs(c.relativeChange + 0.06) < 0.01);
});

test("not a candidate: CI includes 1, within the floor, the other direction, no A/B across it", () => {
  const cases: [StepRatio | null, RegExp][] = [
    [step(0.97, 0.05), /CI includes 0/],
    [step(0.992, 0.004), /within the 1\.0% noise floor/],
    [step(0.97, 0.01, 0.02), /within the 4\.0% noise floor/],
    [step(1.05, 0.01), /the other direction/],
    [null, /no A\/B ratio across it/],
  ];
  for (const [at20, why] of cases) {
    const [c] = findCandidateChanges(history(at20));
    assert.ok(c);
    assert.equal(c.candidate, false, c.verdict);
    assert.match(c.verdict, why);
  }
});

test("a change point placed a tip late is still confirmed by the span around it, not by its own step", () => {
  const h = history(step(0.94, 0.012));
  const cp = { ...findChangePoints(h)[0]!, index: 21 };
  const [own] = judgeChangePoints(h, [cp], { chainHalfWidths: [0] });
  const [either] = judgeChangePoints(h, [cp]);
  assert.equal(own!.candidate, false);
  assert.equal(either!.candidate, true);
  assert.deepEqual([either!.chain.fromIndex, either!.chain.toIndex], [19, 22]);
});

test("a wider span multiplies the steps across the change point and adds their log variances", () => {
  const h = history(step(0.94, 0.012));
  const one = chainEvidence(h, 20, 0);
  const three = chainEvidence(h, 20, 1);
  assert.equal(one.steps, 1);
  assert.equal(three.steps, 3);
  assert.deepEqual([three.fromIndex, three.toIndex], [18, 21]);
  const product = [19, 20, 21].reduce((p, i) => p * h[i]!.ratioToPrevious!.ratio, 1);
  assert.ok(Math.abs(three.ratio! - product) < 1e-12);
  assert.ok(three.ciHigh! - three.ciLow! > one.ciHigh! - one.ciLow!);
});

test("an outlier the change-point step takes for a change is not a candidate when the A/B chain is flat", () => {
  const h = history(step(1.001, 0.012)).map((p, i) => ({ ...p, value: 40000 * (1 + 0.002 * Math.sin(i)) }));
  h[38] = { ...h[38]!, value: 20000 };
  const cps = findChangePoints(h);
  assert.deepEqual(
    cps.map((c) => c.index),
    [38],
  );
  assert.equal(judgeChangePoints(h, cps)[0]!.candidate, false);
});

test("the history schema refuses what the store must never hand over", () => {
  assert.equal(CellHistorySchema.safeParse(history(null)).success, true);
  assert.equal(CellHistorySchema.safeParse([{ commit: "", value: 1 }]).success, false);
  assert.equal(CellHistorySchema.safeParse([{ commit: "a", value: Number.NaN }]).success, false);
  assert.equal(CellHistorySchema.safeParse([{ commit: "a", value: 1, ratioToPrevious: { ratio: 0, ciLow: 1, ciHigh: 1 } }]).success, false);
});

test("the reasons people read (golden)", () => {
  const lines = [step(0.94, 0.012), step(0.97, 0.05), step(0.992, 0.004), step(1.05, 0.01), null].flatMap((at20) =>
    findCandidateChanges(history(at20)).map((c) => c.verdict),
  );
  golden("history-change-points.txt", `${lines.join("\n")}\n`);
});
