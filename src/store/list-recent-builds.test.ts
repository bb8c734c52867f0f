import assert from "node:assert/strict";
import { test } from "node:test";
import { STORE_BACKENDS } from "../../test/helpers/store-backends.ts";
import type { TypedStageResult } from "../domain/stage-result-schema.ts";
import type { Status } from "../domain/status.ts";
import { createFlowIfAbsent } from "./flow-repository.ts";
import { openStore } from "./open-store.ts";
import { listRecentBuilds, listStageResults, newestFlowWithKernels, saveFlowResults } from "./result-repository.ts";

const AT = "2026-12-06T10:00:00.000Z";
/** Rows as an older or broken runner may have left them: stored as given, not checked on the way in. */
const asStored = (r: unknown) => r as TypedStageResult;
const buildData = (ms: number) => ({
  config: { base: "defconfig", fragments: [], extras: [] },
  base: { commit: "b", ok: true, durationMs: ms, warnings: [], logTail: "", logPath: "", image: "/i", ccache: true },
  candidate: { commit: "c", ok: true, durationMs: ms / 2, warnings: [], logTail: "", logPath: "", image: "/i", ccache: true },
  newWarnings: [],
  boots: [],
  probeChanges: [],
});

for (const backend of STORE_BACKENDS) test(`listRecentBuilds on ${backend.name}: the tree's build stages that built, with their flow's base; other trees and stages left out`, async () => {
  const store = await backend.fresh();
  const db = await openStore(store.location);
  try {
    const flows = [
      { id: "f1", tree: "bpf-next", base: "base1", build: { status: "pass", data: buildData(100_000) } },
      { id: "f2", tree: "bpf-next", base: "base2", build: { status: "skip", data: { note: "skipped: nothing applied to build" } } },
      { id: "f3", tree: "net-next", base: "base3", build: { status: "pass", data: buildData(300_000) } },
      { id: "f4", tree: "bpf-next", base: null, build: { status: "error", data: { config: {}, base: null } } },
    ];
    for (const f of flows) {
      await createFlowIfAbsent(db, { id: f.id, seriesId: "s", tree: f.tree, base: f.base, plan: "{}" });
      await saveFlowResults(db, f.id, {
        results: [
          { stage: "apply", status: "pass", summary: "", startedAt: AT, endedAt: AT, runner: "r", data: null },
          asStored({ stage: "build", status: f.build.status as Status, summary: "", startedAt: AT, endedAt: AT, runner: "r", data: f.build.data }),
        ],
        samples: [],
        verdicts: [],
      });
    }
    const got = await listRecentBuilds(db, "bpf-next");
    assert.deepEqual(
      got.map((g) => [g.base, g.data.base?.durationMs]),
      [["base1", 100_000]],
    );
    assert.equal((await listRecentBuilds(db, "net-next")).length, 1);
    assert.deepEqual(await listRecentBuilds(db, "nope"), []);
    // What a /bench estimate reuses: the newest of the given flows that left both kernels.
    assert.equal(await newestFlowWithKernels(db, ["f1", "f2", "f4"]), "f1");
    assert.equal(await newestFlowWithKernels(db, ["f1", "f3"]), "f3");
    assert.equal(await newestFlowWithKernels(db, ["f2", "f4", "gone"]), null);
    assert.equal(await newestFlowWithKernels(db, []), null);
  } finally {
    await db.destroy();
    await store.drop();
  }
});

for (const backend of STORE_BACKENDS) test(`listStageResults on ${backend.name}: stored results come back checked; the bench without its samples; a row that no longer parses is an error of its stage`, async () => {
  const store = await backend.fresh();
  const db = await openStore(store.location);
  try {
    await createFlowIfAbsent(db, { id: "f1", seriesId: "s", tree: "bpf-next", base: "b", plan: "{}" });
    const bench = { cells: [], variants: [], design: "abba", rounds: 1, runsPerRound: 1, durationSec: 1, pinning: null, samples: [], profile: {}, warnings: [], problems: [], commands: [] };
    await saveFlowResults(db, "f1", {
      results: [
        { stage: "build", status: "pass", summary: "built", startedAt: AT, endedAt: AT, runner: "r", data: buildData(1000) },
        asStored({ stage: "selftests", status: "pass", summary: "", startedAt: AT, endedAt: AT, runner: "r", data: { tests: "not a list" } }),
        { stage: "bench", status: "pass", summary: "", startedAt: AT, endedAt: AT, runner: "r", data: bench },
      ],
      samples: [],
      verdicts: [],
    });
    const { results, errors } = await listStageResults(db, "f1");
    assert.deepEqual(results.map((r) => r.stage), ["build", "bench"]);
    assert.deepEqual(results.find((r) => r.stage === "bench")?.data, bench);
    assert.deepEqual(errors, [{ stage: "selftests", reason: "the stored selftests result was malformed and is left out: data.tests: Invalid input: expected array, received string" }]);
  } finally {
    await db.destroy();
    await store.drop();
  }
});
