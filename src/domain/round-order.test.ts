import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { roundOrder, shuffleCells, sideOrder } from "./round-order.ts";

describe("roundOrder, sideOrder and shuffleCells", () => {
  const s = (xs: { round: number; variant: string }[]) => xs.map((x) => `${x.variant}${x.round}`).join(" ");
  it("designs", () => {
    assert.equal(s(roundOrder("ABBA", 3)), "A0 B0 B1 A1 A2 B2");
    assert.equal(s(roundOrder("ABAB", 2)), "A0 B0 A1 B1");
    assert.equal(s(roundOrder("AAABBB", 3)), "A0 A1 A2 B0 B1 B2");
    // extending keeps the ABBA pattern going
    assert.equal(s(roundOrder("ABBA", 2, 5)), "B5 A5 A6 B6");
  });
  it("ABBA alternates per round, ABAB does not; more sides reverse as a whole", () => {
    assert.deepEqual([0, 1, 2, 3].map((r) => sideOrder("ABBA", r)), [[0, 1], [1, 0], [0, 1], [1, 0]]);
    assert.deepEqual([0, 1, 2].map((r) => sideOrder("ABAB", r)), [[0, 1], [0, 1], [0, 1]]);
    assert.deepEqual([0, 1].map((r) => sideOrder("ABBA", r, 3)), [[0, 1, 2], [2, 1, 0]]);
    assert.deepEqual(sideOrder("ABAB", 1, 3), [0, 1, 2]);
  });
  it("cell order depends on (seed, round) only, so every side of a round shares it", () => {
    const cells = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const r3 = shuffleCells(cells, 11, 3);
    assert.deepEqual(shuffleCells(cells, 11, 3), r3);
    assert.deepEqual([...r3].sort(), cells);
    const orders = new Set(Array.from({ length: 6 }, (_, r) => shuffleCells(cells, 11, r).join("")));
    assert.ok(orders.size >= 5, "rounds get different orders");
    assert.notDeepEqual(shuffleCells(cells, 12, 3), r3, "the seed matters");
  });
});
