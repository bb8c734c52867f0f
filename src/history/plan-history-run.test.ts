import assert from "node:assert/strict";
import { test } from "node:test";
import { historySchema } from "../config/history-schema.ts";
import { type HistoryState, insideHours, planHistoryRun } from "./plan-history-run.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const P = "c".repeat(40);
const on = historySchema.parse({ enabled: true, everyHours: 6, budgetMinutesPerDay: 120 });
const state = (over: Partial<HistoryState> = {}): HistoryState => ({
  now: new Date("2026-12-07T12:00:00Z"),
  tip: { head: B, parent: P, subject: "net: x" },
  last: { head: A, plannedAt: "2026-12-07T05:00:00Z", finished: true },
  lastMeasured: A,
  spentSec: 0,
  estimateSec: 30 * 60,
  ...over,
});

test("a moved tip is measured against the previous measured tip; the first against its parent, or itself when the parent is not at hand", () => {
  assert.deepEqual(planHistoryRun(on, state()), { run: true, base: A, head: B, note: `against the previous measured tip ${A.slice(0, 12)}` });
  assert.deepEqual(planHistoryRun(on, state({ last: null, lastMeasured: null })), { run: true, base: P, head: B, note: `the first tip, against its first parent ${P.slice(0, 12)}` });
  // The newest tip did not build: the next one is measured against the tip before it that gave numbers.
  const D = "d".repeat(40);
  assert.deepEqual(planHistoryRun(on, state({ last: { head: D, plannedAt: "2026-12-07T05:00:00Z", finished: true }, lastMeasured: A })), {
    run: true,
    base: A,
    head: B,
    note: `against the previous measured tip ${A.slice(0, 12)}`,
  });
  const aa = planHistoryRun(on, state({ last: null, lastMeasured: null, tip: { head: B, parent: null, subject: null } }));
  assert.ok(aa.run && aa.base === B && /against itself \(A\/A/.test(aa.note));
});

test("nothing runs when off, unread, unmoved, still running, too soon, outside the quiet hours or over the budget — each says why", () => {
  const why = (cfg: typeof on, s: HistoryState) => {
    const d = planHistoryRun(cfg, s);
    return d.run ? "ran" : d.why;
  };
  assert.equal(why(historySchema.parse({}), state()), "history is off for this tree");
  assert.equal(why(on, state({ tip: null })), "the tree's tip could not be read");
  assert.equal(why(on, state({ last: { head: B, plannedAt: "2026-12-06T00:00:00Z", finished: true } })), `the tip ${B.slice(0, 12)} is measured already`);
  assert.equal(why(on, state({ last: { head: A, plannedAt: "2026-12-07T05:00:00Z", finished: false } })), `the tip ${A.slice(0, 12)} is still being measured`);
  assert.equal(why(on, state({ last: { head: A, plannedAt: "2026-12-07T09:00:00Z", finished: true } })), "the last tip was measured 3.0 h ago (every 6 h)");
  assert.equal(why({ ...on, everyHours: 0 }, state({ last: { head: A, plannedAt: "2026-12-07T11:59:00Z", finished: true } })), "ran");
  assert.equal(why({ ...on, quietHours: "22:00-06:00" }, state()), "outside the quiet hours 22:00-06:00 UTC");
  assert.equal(why({ ...on, quietHours: "22:00-06:00" }, state({ now: new Date("2026-12-07T23:30:00Z"), last: { head: A, plannedAt: "2026-12-07T05:00:00Z", finished: true } })), "ran");
  assert.equal(why(on, state({ spentSec: 100 * 60 })), "over the runner budget: 100 + 30 min > 120 min in 24 h");
});

test("quiet hours: a window within a day and one across midnight; the end is not inside", () => {
  const at = (hhmm: string) => new Date(`2026-12-07T${hhmm}:00Z`);
  assert.equal(insideHours("01:00-06:00", at("01:00")), true);
  assert.equal(insideHours("01:00-06:00", at("06:00")), false);
  assert.equal(insideHours("22:00-06:00", at("23:59")), true);
  assert.equal(insideHours("22:00-06:00", at("05:59")), true);
  assert.equal(insideHours("22:00-06:00", at("12:00")), false);
  assert.equal(historySchema.safeParse({ quietHours: "25:00-06:00" }).success, false);
});
