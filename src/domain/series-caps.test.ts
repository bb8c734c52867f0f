import assert from "node:assert/strict";
import { test } from "node:test";
import { isCapRefusal, seriesCapProblem } from "./series-caps.ts";

const caps = { maxPatches: 100, maxSeriesBytes: 8 * 1024 * 1024 };

test("a series within both caps runs", () => {
  assert.equal(seriesCapProblem({ patches: 100, bytes: 8 * 1024 * 1024 }, caps), null);
});

test("over a cap: one line that says which cap and by how much", () => {
  assert.equal(seriesCapProblem({ patches: 240, bytes: 1000 }, caps), "series has 240 patches, over ingest.maxPatches=100; not run");
  assert.equal(
    seriesCapProblem({ patches: 3, bytes: 9_000_000 }, caps),
    "series has 9000000 bytes of patches, over ingest.maxSeriesBytes=8388608; not run",
  );
});

test("a refusal is recognisable in a stage summary; other skips are not", () => {
  assert.equal(isCapRefusal(seriesCapProblem({ patches: 240, bytes: 0 }, caps)!), true);
  assert.equal(isCapRefusal("skipped: the series did not apply"), false);
});
