import assert from "node:assert/strict";
import { test } from "node:test";
import { readFixture } from "../../../test/helpers/fixtures.ts";
import { checkClaims, type MeasuredCell } from "./check-claims.ts";
import { type Claim, parseClaims } from "./parse-claims.ts";

const claim = (over: Partial<Claim> = {}): Claim => ({
  test: "TCP_RR",
  topology: "loopback",
  size: 1,
  variantFrom: "baseline TCP",
  variantTo: "splice + busy-poll",
  from: 111900,
  to: 1113800,
  unit: "tps",
  ratio: 9.96,
  ratioSource: "stated",
  sourceLine: "TCP_RR (loopback) 1 B 111.9k -> 1113.8k tps (9.96x)",
  ...over,
});
const cell = (over: Partial<MeasuredCell> = {}): MeasuredCell => ({
  test: "TCP_RR",
  topology: "loopback",
  size: 1,
  ratio: 9.8,
  ci95: [9.5, 10.1],
  ...over,
});

const table: {
  name: string;
  cells: MeasuredCell[];
  tol?: number;
  verdict: string;
  gap: number | null;
  detail: RegExp;
}[] = [
  { name: "inside the CI", cells: [cell()], verdict: "consistent", gap: null, detail: /inside the CI/ },
  {
    name: "far above the CI: says by how much",
    cells: [cell({ ratio: 4.1, ci95: [3.9, 4.3] })],
    verdict: "not reproduced",
    gap: 9.96 / 4.3,
    detail: /claimed 9\.96x, measured 4\.10x \(95% CI 3\.90x–4\.30x\): claim is 2\.32x the CI upper bound \(132% above\)/,
  },
  {
    name: "below the CI (measured better than claimed)",
    cells: [cell({ ratio: 12, ci95: [11.5, 12.5] })],
    verdict: "not reproduced",
    gap: 9.96 / 11.5,
    detail: /13% below the CI lower bound/,
  },
  {
    name: "just outside, but within a 5% relative tolerance",
    cells: [cell({ ratio: 9.3, ci95: [9.0, 9.6] })],
    tol: 0.05,
    verdict: "consistent",
    gap: null,
    detail: /within 5% of the CI/,
  },
  {
    name: "same cell outside without tolerance",
    cells: [cell({ ratio: 9.3, ci95: [9.0, 9.6] })],
    verdict: "not reproduced",
    gap: 9.96 / 9.6,
    detail: /above/,
  },
  { name: "other topology only", cells: [cell({ topology: "container" })], verdict: "not measured", gap: null, detail: /no measured cell for TCP_RR loopback 1 B/ },
  { name: "other size only", cells: [cell({ size: 64 })], verdict: "not measured", gap: null, detail: /no measured cell/ },
  { name: "other test only", cells: [cell({ test: "TCP_STREAM" })], verdict: "not measured", gap: null, detail: /no measured cell/ },
  { name: "other variant only", cells: [cell({ variant: "splice" })], verdict: "not measured", gap: null, detail: /no measured cell/ },
  { name: "matching variant", cells: [cell({ variant: "Splice + busy-poll" })], verdict: "consistent", gap: null, detail: /inside/ },
  { name: "invalid interval", cells: [cell({ ci95: [10.1, 9.5] })], verdict: "not measured", gap: null, detail: /no valid interval/ },
];

for (const t of table) {
  test(`checkClaims: ${t.name}`, () => {
    const [r] = checkClaims([claim()], t.cells, t.tol === undefined ? {} : { relativeTolerance: t.tol });
    assert.ok(r);
    assert.equal(r.verdict, t.verdict);
    if (t.gap === null) assert.equal(r.gap, null);
    else assert.ok(Math.abs((r.gap ?? 0) - t.gap) < 1e-9, `gap ${r.gap} != ${t.gap}`);
    assert.match(r.detail, t.detail);
  });
}

test("checkClaims on the seed's claims: each claim gets its own cell's verdict", () => {
  const claims = parseClaims(readFixture("mail", "seed-02-busy-poll.lore-page.txt").toString());
  const measured: MeasuredCell[] = [
    // A measurement that reproduces the 1 B loopback claim...
    { test: "TCP_RR", topology: "loopback", size: 1, ratio: 9.7, ci95: [9.4, 10.0] },
    // ...and one that does not reproduce the 1 KB loopback claim (6.72x).
    { test: "TCP_RR", topology: "loopback", size: 1024, ratio: 2.9, ci95: [2.7, 3.1] },
  ];
  const results = checkClaims(claims, measured);
  assert.equal(results.length, 10);
  assert.deepEqual(
    results.map((r) => r.verdict),
    [
      "consistent",
      "not measured",
      "not reproduced",
      "not measured",
      "not measured",
      "not measured",
      "not measured",
      "not measured",
      "not measured",
      "not measured",
    ],
  );
  assert.match(results[2]?.detail ?? "", /claimed 6\.72x, measured 2\.90x .*2\.17x the CI upper bound/);
});
