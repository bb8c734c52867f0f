import assert from "node:assert/strict";
import { test } from "node:test";
import { planReconcile } from "./plan-reconcile.ts";

const job = (id: string) => JSON.stringify({ name: "report", queueName: "orchestrator", data: { flowId: id }, opts: { jobId: `${id}-report` } });

test("planReconcile: only flows Redis does not know are enqueued again, with their stored jobs", () => {
  const flows = [
    { id: "flow-a", status: "queued", job: job("flow-a") },
    { id: "flow-b", status: "queued", job: job("flow-b") },
    { id: "flow-c", status: "queued", job: job("flow-c") },
  ];
  const states = new Map([
    ["flow-a", "waiting-children"],
    ["flow-b", "unknown"],
  ]);
  const actions = planReconcile(flows, states);
  assert.deepEqual(
    actions.map((a) => [a.kind, a.flowId]),
    [
      ["enqueue", "flow-b"],
      ["enqueue", "flow-c"],
    ],
    "a missing state counts as unknown",
  );
  const b = actions[0]!;
  assert.equal(b.kind === "enqueue" && b.job.opts?.jobId, "flow-b-report", "the same deterministic id");
  assert.match(b.why, /holds the flow as queued but Redis has no report job/);
});

test("planReconcile: a flow without a stored job, or an unreadable one, is reported, not guessed", () => {
  const actions = planReconcile(
    [
      { id: "flow-old", status: "queued", job: null },
      { id: "flow-bad", status: "queued", job: "{not json" },
      { id: "flow-shape", status: "queued", job: JSON.stringify({ name: "report" }) },
    ],
    new Map(),
  );
  assert.deepEqual(
    actions.map((a) => a.kind),
    ["unrecoverable", "unrecoverable", "unrecoverable"],
  );
  assert.match(actions[0]!.why, /ingest the series again/);
});
