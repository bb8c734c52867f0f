import assert from "node:assert/strict";
import { test } from "node:test";
import { type GithubTarget, setTarget } from "../store/github-repository.ts";
import type { Status } from "../domain/status.ts";
import { createFlowIfAbsent } from "../store/flow-repository.ts";
import { openStore } from "../store/open-store.ts";
import { saveFlowResults } from "../store/result-repository.ts";
import { knownApplyFailure } from "./known-apply-failure.ts";

const AT = "2026-12-06T10:00:00.000Z";
const target = (headSha: string): GithubTarget => ({
  installationId: 1,
  owner: "o",
  repo: "r",
  number: 7,
  headSha,
  kind: "check",
  checkRunId: 1,
  commentId: null,
  request: null,
  changedFiles: [],
  state: "completed",
});

test("knownApplyFailure: a flow on the same head whose apply failed, newest first; another head or a pass is not one", async () => {
  const db = await openStore(":memory:");
  try {
    const flows = [
      { id: "f1", head: "h1", apply: "fail", summary: "patch 1/2 does not apply to bpf-next at aaaaaaaaaaaa\nerror: net/x.c" },
      { id: "f2", head: "h2", apply: "fail", summary: "patch 2/2 does not apply to bpf-next at bbbbbbbbbbbb" },
      { id: "f3", head: "h2", apply: "fail", summary: "patch 1/2 does not apply to bpf-next at cccccccccccc" },
      { id: "f4", head: "h3", apply: "pass", summary: "applied 2/2 patches" },
    ];
    for (const f of flows) {
      await createFlowIfAbsent(db, { id: f.id, seriesId: "s", tree: "bpf-next", base: null, plan: "{}" });
      await setTarget(db, f.id, target(f.head));
      await saveFlowResults(db, f.id, { results: [{ stage: "apply", status: f.apply as Status, summary: f.summary, startedAt: AT, endedAt: AT, runner: "r", data: null }], samples: [], verdicts: [] });
    }
    const ids = flows.map((f) => f.id);
    assert.deepEqual(await knownApplyFailure(db, ids, "h1"), { flowId: "f1", summary: flows[0]!.summary });
    assert.deepEqual(await knownApplyFailure(db, ids, "h2"), { flowId: "f3", summary: flows[2]!.summary });
    assert.equal(await knownApplyFailure(db, ids, "h3"), null);
    assert.equal(await knownApplyFailure(db, ids, "h4"), null);
    // A flow that has not applied yet says nothing.
    await createFlowIfAbsent(db, { id: "f5", seriesId: "s", tree: "bpf-next", base: null, plan: "{}" });
    await setTarget(db, "f5", target("h5"));
    assert.equal(await knownApplyFailure(db, [...ids, "f5"], "h5"), null);
  } finally {
    await db.destroy();
  }
});
