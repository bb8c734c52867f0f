import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { createLogger } from "./logger.ts";

test("a field the child logger carries with the same value is written once; another value or an error is kept", async () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c: Buffer) => {
    text += c.toString();
  });
  const log = createLogger({ destination: out, level: "info" }).child({ flowId: "flow-1" });
  log.info({ flowId: "flow-1", path: "/tmp/r.eml" }, "report kept in the outbox, not mailed");
  log.info({ flowId: "flow-2" }, "another flow");
  log.warn({ err: new Error("boom") }, "failed");
  await new Promise((r) => setImmediate(r));
  const lines = text.trim().split("\n");
  assert.equal(lines[0]!.match(/"flowId"/g)?.length, 1, lines[0]);
  assert.match(lines[0]!, /"path":"\/tmp\/r\.eml"/);
  assert.equal(lines[1]!.match(/"flowId"/g)?.length, 2, "a different value is news: kept beside the binding");
  assert.match(lines[2]!, /"message":"boom"/);
});
