import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { STORE_BACKENDS } from "../../test/helpers/store-backends.ts";
import { createFlowIfAbsent } from "./flow-repository.ts";
import { openStore } from "./open-store.ts";
import { claimPendingChecks, listWantedChecks, markFinalChecksPosted, recordFinalChecks } from "./patchwork-check-repository.ts";

const scope = { instance: "https://patchwork.example.org/", project: "netdevbpf" };
const check = (patchId: number, state: string) => ({ patchId, context: "patchbench-apply", state, description: state, targetUrl: null, onlyOverPending: false });
const apply1 = [{ patchId: 1, context: "patchbench-apply" }];

for (const backend of STORE_BACKENDS) test(`${backend.name}: a pending is taken only where no final check of its own or a newer flow ended the context`, async () => {
  const store = await backend.fresh();
  try {
    const db = await openStore(store.location);
    // Flows in the order they were created (created_at has millisecond resolution).
    for (const id of ["f0", "f1", "f2"]) {
      await createFlowIfAbsent(db, { id, seriesId: "s1", tree: "net-next", base: null, plan: "{}" });
      await sleep(5);
    }
    const state = async () => (await listWantedChecks(db, scope, apply1)).map((w) => [w.flowId, w.state, w.final]);
    assert.deepEqual(await claimPendingChecks(db, scope, "f1", [check(1, "pending"), check(2, "pending")]), [check(1, "pending"), check(2, "pending")]);
    await recordFinalChecks(db, scope, "f1", [check(1, "success")]);
    // Patch 1's context is ended by f1: its pending (a retry, a late event) is refused; patch 2 is still open.
    assert.deepEqual(await claimPendingChecks(db, scope, "f1", [check(1, "pending"), check(2, "pending")]), [check(2, "pending")]);
    const wanted = await listWantedChecks(db, { ...scope, instance: "https://patchwork.example.org" }, apply1);
    assert.deepEqual(wanted.map((w) => [w.flowId, w.state, w.final, w.postedAt]), [["f1", "success", true, null]], "recorded, not yet posted");
    // An older flow's stage starting late, or a flow the store does not know, does not undo it.
    assert.deepEqual(await claimPendingChecks(db, scope, "f0", [check(1, "pending")]), []);
    assert.deepEqual(await claimPendingChecks(db, scope, "unknown", [check(1, "pending")]), []);
    assert.deepEqual(await state(), [["f1", "success", true]]);
    // Posted: said per flow, only on its own final check.
    await markFinalChecksPosted(db, scope, "f0", apply1);
    assert.equal((await listWantedChecks(db, scope, apply1))[0]?.postedAt, null, "another flow's post is not this check's");
    await markFinalChecksPosted(db, scope, "f1", apply1);
    assert.match((await listWantedChecks(db, scope, apply1))[0]?.postedAt ?? "", /^\d{4}-\d\d-\d\dT/);
    // A re-run (a newer flow) starts the context again.
    assert.deepEqual(await claimPendingChecks(db, scope, "f2", [check(1, "pending")]), [check(1, "pending")]);
    assert.deepEqual(
      (await listWantedChecks(db, scope, apply1)).map((w) => [w.flowId, w.state, w.final, w.postedAt]),
      [["f2", "pending", false, null]],
    );
    assert.deepEqual(await listWantedChecks(db, scope, [{ patchId: 1, context: "patchbench-bench" }]), []);
    await db.destroy();
  } finally {
    await store.drop();
  }
});
