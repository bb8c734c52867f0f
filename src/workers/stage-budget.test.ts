import assert from "node:assert/strict";
import { test } from "node:test";
import { stageBudget } from "./stage-processor.ts";

test("a stage gets the job's deadline or what is left of the flow's, counted from the first stage's start", () => {
  const now = Date.parse("2026-12-06T10:00:00Z");
  assert.deepEqual(stageBudget({ nowMs: now, jobTimeoutSec: 7200, earlierStarts: [] }), { ms: 7_200_000, by: "job" });
  // The first stage of a flow: the whole flow budget is left, the job's is smaller.
  assert.deepEqual(stageBudget({ nowMs: now, jobTimeoutSec: 7200, flowTimeoutSec: 21600, earlierStarts: [] }), { ms: 7_200_000, by: "job" });
  // Apply started 5 h 50 min ago: 10 min of the flow are left.
  const starts = ["2026-12-06T04:10:00Z", "2026-12-06T06:00:00Z"];
  assert.deepEqual(stageBudget({ nowMs: now, jobTimeoutSec: 7200, flowTimeoutSec: 21600, earlierStarts: starts }), { ms: 600_000, by: "flow" });
  // Past it: nothing left (the stage does not run); an unreadable time is ignored.
  assert.deepEqual(stageBudget({ nowMs: now, jobTimeoutSec: 7200, flowTimeoutSec: 3600, earlierStarts: [...starts, "garbage"] }), { ms: 0, by: "flow" });
});
