import assert from "node:assert/strict";
import { test } from "node:test";
import { golden } from "../../../test/helpers/golden.ts";
import { formatRunners, shortAge } from "./format-runners.ts";
import { type RunnerRecord, runnerRows, staleRunnerIds } from "./runner-record.ts";

const NOW = Date.parse("2026-12-07T10:00:00.000Z");
const ago = (sec: number) => new Date(NOW - sec * 1000).toISOString();
// The profile this machine registered (collectRunnerProfile on the CI VM).
const profile: RunnerRecord["profile"] = {
  cpuModel: "AMD EPYC",
  cpuCount: 2,
  numaNodes: 1,
  memoryMB: 24105,
  kernelRelease: "6.18.44-fc-v1272",
  governor: "unavailable",
  smt: "notsupported",
  turbo: "unavailable",
  isolatedCpus: "",
  irqsSteered: "0/19",
  isVirtual: true,
  nics: [{ name: "eth0", driver: "virtio_net" }],
  netperfVersion: "2.7.0",
};
const record = (id: string, o: Partial<RunnerRecord>): RunnerRecord => ({
  id,
  pool: "local",
  host: "node-svc",
  pid: 4242,
  version: "0.1.0",
  startedAt: ago(7200),
  heartbeatAt: ago(2),
  heartbeatSec: 10,
  bootTargets: ["qemu"],
  profile,
  doctor: { ok: 11, warn: 8, fail: 0 },
  job: null,
  state: "running",
  ...o,
});
const entries = (...rs: RunnerRecord[]) => Object.fromEntries(rs.map((r) => [r.id, JSON.stringify(r)]));

test("runnerRows: idle, busy (with the job's age), lost after 3 silent intervals, stopped; unreadable entries apart", () => {
  const { rows, unreadable } = runnerRows(
    {
      ...entries(
        record("b/local/2", { job: { id: "flow-ab12-bench", flowId: "flow-ab12", stage: "bench", startedAt: ago(130) } }),
        record("a/local/1", {}),
        record("c/local/3", { heartbeatAt: ago(31), job: { id: "flow-cd34-build", flowId: "flow-cd34", stage: "build", startedAt: ago(600) } }),
        record("d/local/4", { heartbeatAt: ago(29) }),
        record("e/bench/5", { pool: "bench", state: "stopped", heartbeatAt: ago(4000) }),
      ),
      "x/local/9": "{not json",
      "y/local/8": JSON.stringify({ id: "y" }),
    },
    NOW,
  );
  assert.deepEqual(rows.map((r) => [r.id, r.state, r.seenSecAgo, r.jobSec]), [
    ["e/bench/5", "stopped", 4000, null],
    ["a/local/1", "idle", 2, null],
    ["b/local/2", "busy", 2, 130],
    // Lost: its job's time runs to its last heartbeat, not to now.
    ["c/local/3", "lost", 31, 569],
    ["d/local/4", "idle", 29, null],
  ]);
  assert.deepEqual(unreadable, ["x/local/9", "y/local/8"]);
});

test("staleRunnerIds: silent longer than the keep time, stopped or not; unreadable entries are not deleted", () => {
  const e = { ...entries(record("old", { heartbeatAt: ago(8 * 86400) }), record("gone", { state: "stopped", heartbeatAt: ago(7 * 86400 + 1) }), record("fresh", {})), junk: "x" };
  assert.deepEqual(staleRunnerIds(e, NOW, 7 * 86400).sort(), ["gone", "old"]);
});

test("shortAge", () => {
  assert.deepEqual([0, 59, 60, 185, 3600, 7810, 86400, 97200].map(shortAge), ["0s", "59s", "1m00s", "3m05s", "1h00m", "2h10m", "1d0h", "1d3h"]);
});

test("formatRunners: the table, each machine, the lost note (golden)", () => {
  const { rows, unreadable } = runnerRows(
    {
      ...entries(
        record("node-svc/local/4242", { job: { id: "flow-ab12-bench", flowId: "flow-ab12", stage: "bench", startedAt: ago(130) } }),
        record("lab-1/bench/777", {
          pool: "bench",
          host: "lab-1",
          pid: 777,
          heartbeatAt: ago(45),
          bootTargets: ["ssh"],
          doctor: { ok: 17, warn: 1, fail: 1 },
          job: { id: "flow-cd34-build", flowId: "flow-cd34", stage: "build", startedAt: ago(600) },
        }),
      ),
      "z/local/1": "{",
    },
    NOW,
  );
  golden("runners.txt", formatRunners(rows, unreadable));
  assert.equal(formatRunners([], []), "no runner has registered on this Redis (start one: patchbench runner --pool NAME)\n");
});
