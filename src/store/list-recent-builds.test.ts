import assert from "node:assert/strict";
import { test } from "node:test";
import { STORE_BACKENDS } from "../../test/helpers/store-backends.ts";
import type { Status } from "../domain/status.ts";
import { createFlowIfAbsent } from "./flow-repository.ts";
import { openStore } from "./open-store.ts";
import { listRecentBuilds, newestFlowWithKernels, saveFlowResults } from "./result-repository.ts";

const AT = "2026-12-06T10:00:00.000Z";
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
          { stage: "apply", status: "pass", summary: "", startedAt: AT, endedAt: AT, runner: "r", data: {} },
          { stage: "build", status: f.build.status as Status, summary: "", startedAt: AT, endedAt: AT, runner: "r", data: f.build.data },
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
