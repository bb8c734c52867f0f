import assert from "node:assert/strict";
import { test } from "node:test";
import { STORE_BACKENDS } from "../../test/helpers/store-backends.ts";
import { openStore } from "./open-store.ts";
import { claimPendingChecks, listWantedChecks, recordFinalChecks } from "./patchwork-check-repository.ts";

const scope = { instance: "https://patchwork.example.org/", project: "netdevbpf" };
const check = (patchId: number, state: string) => ({ patchId, context: "patchbench-apply", state, description: state, targetUrl: null, onlyOverPending: false });

for (const backend of STORE_BACKENDS) test(`${backend.name}: a pending is taken only where its own flow has not ended the context; a newer flow's pending is`, async () => {
  const store = await backend.fresh();
  try {
    const db = await openStore(store.location);
    assert.deepEqual(await claimPendingChecks(db, scope, "f1", [check(1, "pending"), check(2, "pending")]), [check(1, "pending"), check(2, "pending")]);
    await recordFinalChecks(db, scope, "f1", [check(1, "success")]);
    // Patch 1's context is ended by f1: its pending (a retry, a late event) is refused; patch 2 is still open.
    assert.deepEqual(await claimPendingChecks(db, scope, "f1", [check(1, "pending"), check(2, "pending")]), [check(2, "pending")]);
    const wanted = await listWantedChecks(db, { ...scope, instance: "https://patchwork.example.org" }, [{ patchId: 1, context: "patchbench-apply" }]);
    assert.deepEqual(wanted.map((w) => [w.flowId, w.state, w.final]), [["f1", "success", true]]);
    // A re-run (another flow) starts the context again.
    assert.deepEqual(await claimPendingChecks(db, scope, "f2", [check(1, "pending")]), [check(1, "pending")]);
    assert.deepEqual((await listWantedChecks(db, scope, [{ patchId: 1, context: "patchbench-apply" }])).map((w) => [w.flowId, w.state, w.final]), [["f2", "pending", false]]);
    assert.deepEqual(await listWantedChecks(db, scope, [{ patchId: 1, context: "patchbench-bench" }]), []);
    await db.destroy();
  } finally {
    await store.drop();
  }
});
