import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { createProgress } from "./progress.ts";

/** What a terminal shows: each line as left after its last carriage return and erase. */
function screen(written: string): string[] {
  return written
    .split("\n")
    .map((l) => l.split("\r\x1b[K").pop()!.replace(/^\s*\[\s*\d+s\]\s*/, "").replace(/^[|/\\-] \[\s*\d+s\] /, ""))
    .filter((l) => l !== "");
}

function tty(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  stream.isTTY = true;
  let out = "";
  stream.on("data", (c: Buffer) => {
    out += c.toString();
  });
  return { stream, text: () => out };
}

test("on a terminal, a step's line stays on screen when a stage state follows it; a changed time left only redraws", async () => {
  const t = tty();
  const p = createProgress(t.stream);
  p.step("reading /tmp/s");
  p.step("flow queued: flow-1 - tree bpf-next from /tmp/linux (branch master), stages apply");
  p.update("apply: running, about 5 s left", true);
  p.update("apply: running, about 3 s left");
  p.update("1/1 stages done; report flow-1 written", true);
  p.done("report: /tmp/r.eml");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(screen(t.text()), [
    "reading /tmp/s",
    "flow queued: flow-1 - tree bpf-next from /tmp/linux (branch master), stages apply",
    "apply: running, about 3 s left",
    "1/1 stages done; report flow-1 written",
    "report: /tmp/r.eml",
  ]);
});

test("without a terminal, plain lines: every step and every changed state, a time left at most once a minute", () => {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const p = createProgress(stream);
  p.step("flow queued: flow-1");
  p.update("apply: running, about 5 s left", true);
  p.update("apply: running, about 3 s left");
  p.done("report: /tmp/r.eml");
  assert.deepEqual(
    lines.map((l) => l.replace(/^\[\s*\d+s\] /, "").trimEnd()),
    ["flow queued: flow-1", "apply: running, about 5 s left", "report: /tmp/r.eml"],
  );
});
