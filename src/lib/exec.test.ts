import assert from "node:assert/strict";
import { test } from "node:test";
import { exec } from "./exec.ts";

test("exec passes arguments without a shell", async () => {
  const r = await exec(["printf", "%s|", "a b", "$(id)", "; rm -rf /"]);
  assert.equal(r.stdout, "a b|$(id)|; rm -rf /|");
});

test("exec rejects a non-zero exit with the output tail", async () => {
  await assert.rejects(exec(["sh", "-c", "echo boom >&2; exit 3"]), /exited 3: boom/);
  const r = await exec(["sh", "-c", "exit 3"], { okCodes: "any" });
  assert.equal(r.code, 3);
});

test("exec kills the whole process group on timeout", async () => {
  // The grandchild would keep the pipe open for 30 s if only the child died.
  const t0 = Date.now();
  await assert.rejects(exec(["sh", "-c", "sleep 30 & sleep 30"], { timeoutMs: 300 }), /timed out/);
  assert.ok(Date.now() - t0 < 10_000);
});

test("exec reports a missing command clearly", async () => {
  await assert.rejects(exec(["patchbench-no-such-command"]), /command not found/);
});

test("exec feeds stdin", async () => {
  const r = await exec(["cat"], { input: "hello" });
  assert.equal(r.stdout, "hello");
});
