import assert from "node:assert/strict";
import { test } from "node:test";
import { newerOrchestrator, type OrchestratorPresence } from "./source-leases.ts";

const o = (id: string, version: string, seenAt: number, liveMs = 30_000): OrchestratorPresence => ({ id, version, host: "h", pid: 1, seenAt, liveMs });

test("an orchestrator steps back only for a newer version that is alive", () => {
  const now = 100_000;
  const all = [o("me", "0.1.0", now), o("same", "0.1.0", now), o("old", "0.0.9", now), o("gone", "0.3.0", now - 60_000), o("new", "0.2.0", now - 1000), o("newest", "0.2.1", now - 2000)];
  assert.equal(newerOrchestrator(all, "0.1.0", now)?.id, "newest");
  assert.equal(newerOrchestrator(all, "0.2.1", now), null, "the newest one keeps its sources");
  // Each counts as alive by its own announcement period (sources polled less often announce less often).
  assert.equal(newerOrchestrator([...all, o("slow", "0.3.0", now - 60_000, 90_000)], "0.2.1", now)?.id, "slow");
});
