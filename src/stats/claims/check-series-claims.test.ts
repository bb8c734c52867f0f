import assert from "node:assert/strict";
import { test } from "node:test";
import { readFixture } from "../../../test/helpers/fixtures.ts";
import type { MeasuredCell } from "./check-claims.ts";
import { checkClaimsAgainst, checkSeriesClaims, mapClaim } from "./check-series-claims.ts";
import { parseClaims } from "./parse-claims.ts";

const seedText = () => readFixture("mail", "seed-02-busy-poll.lore-page.txt").toString();
const measured: MeasuredCell[] = [
  { test: "TCP_RR", topology: "loopback", size: 1, ratio: 9.7, ci95: [9.4, 10.0] },
  { test: "TCP_RR", topology: "loopback", size: 1024, ratio: 2.9, ci95: [2.7, 3.1] },
];

test("the seed's claims compare baseline TCP vs splice + busy-poll: our sysctl A/B is not that comparison", () => {
  const r = checkSeriesClaims(seedText(), measured, { a: "busy_read=0", b: "busy_read=50", kernels: false });
  assert.equal(r.length, 10);
  for (const c of r) {
    assert.equal(c.verdict, "not measured");
    assert.equal(c.notMeasuredBecause, "variants differ");
    assert.match(c.detail, /claim compares "baseline TCP" -> "splice \+ busy-poll"; we compared busy_read=0 -> busy_read=50/);
  }
});

test("when our variants carry the claim's names, each claim meets its own cell", () => {
  const r = checkSeriesClaims(seedText(), measured, { a: "baseline-tcp", b: "splice+busy-poll", kernels: false });
  assert.deepEqual(
    r.map((c) => c.verdict),
    ["consistent", "not measured", "not reproduced", ...Array(7).fill("not measured")],
  );
  assert.equal(r[1]?.notMeasuredBecause, "no cell");
  assert.equal(r[2]?.notMeasuredBecause, null);
  assert.match(r[2]?.detail ?? "", /claimed 6\.72x, measured 2\.90x/);
});

test("a before/after claim maps only to a base vs candidate kernel comparison", () => {
  const [claim] = parseClaims("TCP_RR (loopback) 1 B 100.0k -> 80.0k tps (0.80x)");
  assert.ok(claim);
  assert.equal(claim.variantFrom, null);
  assert.deepEqual(mapClaim(claim, { a: "base", b: "candidate", kernels: true }), { ok: true });
  const other = mapClaim(claim, { a: "busy_read=0", b: "busy_read=50", kernels: false });
  assert.equal(other.ok, false);
  const r = checkSeriesClaims("TCP_RR (loopback) 1 B 100.0k -> 80.0k tps (0.80x)", [{ test: "TCP_RR", topology: "loopback", size: 1, ratio: 0.97, ci95: [0.95, 0.99] }], {
    a: "base",
    b: "candidate",
    kernels: true,
  });
  assert.equal(r[0]?.verdict, "not reproduced");
});

test("with an arm: before/after claims meet base -> candidate, the feature claims meet the arm against the candidate", () => {
  const text = `Before and after:\n\nTCP_RR (loopback) 64 B 100.0k -> 98.0k tps (0.98x)\n\n${seedText()}`;
  const kernels = { cmp: { a: "base", b: "candidate", kernels: true }, cells: [{ test: "TCP_RR", topology: "loopback", size: 64, ratio: 0.99, ci95: [0.97, 1.01] as const }] };
  const arm = { cmp: { a: "baseline TCP", b: "splice + busy-poll", kernels: false }, cells: measured };
  const r = checkClaimsAgainst(text, [kernels, arm]);
  assert.equal(r.length, 11);
  assert.deepEqual([r[0]?.verdict, r[0]?.against], ["consistent", "base -> candidate"]);
  assert.deepEqual(r.slice(1, 4).map((c) => [c.verdict, c.against]), [
    ["consistent", "baseline TCP -> splice + busy-poll"],
    ["not measured", "baseline TCP -> splice + busy-poll"],
    ["not reproduced", "baseline TCP -> splice + busy-poll"],
  ]);
  const none = checkClaimsAgainst(seedText(), [kernels, { ...arm, cmp: { a: "candidate", b: "busy_read=50", kernels: false } }]);
  assert.equal(none[0]?.notMeasuredBecause, "variants differ");
  assert.match(none[0]?.detail ?? "", /we compared base -> candidate on one kernel|we compared base -> candidate \(or candidate -> busy_read=50\)/);
});
