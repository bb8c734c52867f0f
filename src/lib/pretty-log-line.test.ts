import assert from "node:assert/strict";
import { test } from "node:test";
import { prettyLogLine } from "./pretty-log-line.ts";

test("a pino line reads as time, level, message and each field once", () => {
  const time = new Date(2026, 5, 12, 3, 4, 5).getTime();
  const line = JSON.stringify({ level: 40, time, pid: 7, hostname: "vm", name: "patchbench", flowId: "flow-1", stage: "apply", msg: "stage failed; retrying" });
  assert.equal(prettyLogLine(line), "03:04:05 WARN  stage failed; retrying  flowId=flow-1 stage=apply");
  // pino writes a child's binding again when a call repeats it: the line shows it once.
  const repeated = `{"level":30,"time":${time},"flowId":"flow-1","flowId":"flow-1","msg":"report done"}`;
  assert.equal(prettyLogLine(repeated), "03:04:05 INFO  report done  flowId=flow-1");
});

test("errors show their message and first frame; text with spaces is quoted; non-JSON passes through", () => {
  const line = JSON.stringify({ level: 50, time: 0, err: { type: "Error", message: "boom", stack: "Error: boom\n    at run (/x/y.ts:1:2)\n    at z" }, summary: "2 of 3", msg: "stage failed" });
  assert.match(prettyLogLine(line), / ERROR stage failed {2}err=boom summary="2 of 3"\n {4}at run \(\/x\/y\.ts:1:2\)$/);
  assert.equal(prettyLogLine("not json\n"), "not json");
});
