import assert from "node:assert/strict";
import { test } from "node:test";
import { formatMdeRange } from "./format-number.ts";
import { methodLines } from "./render-markdown.ts";
import type { Report } from "./report.ts";

test("formatMdeRange: one range; ends that print alike once, never '>100% to >100%'", () => {
  assert.equal(formatMdeRange([12.34, 40.9]), "12.3% to 40.9%");
  assert.equal(formatMdeRange([40.9, 40.9]), "40.9%");
  assert.equal(formatMdeRange([150, 230]), ">100%");
  assert.equal(formatMdeRange([80, 230]), "80.0% to >100%");
  assert.equal(formatMdeRange([Number.NaN]), null);
});

test("the Markdown method line (check runs, PR comments) uses it", () => {
  const r = {
    bench: {
      stage: { data: { pinning: null, design: "ABBA", rounds: 4, runsPerRound: 1, durationSec: 1 } },
      variants: [
        { name: "a", settings: [] },
        { name: "b", settings: [] },
      ],
      cells: [{ analysis: { mde: 1.5 } }, { analysis: { mde: 2.5 } }],
    },
  } as unknown as Report;
  const line = methodLines(r).find((l) => l.startsWith("Minimum detectable effect"));
  assert.equal(line, 'Minimum detectable effect (80% power, α 0.01): >100% per cell; smaller changes can hide behind "no change".');
});
