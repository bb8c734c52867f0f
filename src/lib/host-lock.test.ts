import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { acquireHostLock } from "./host-lock.ts";

test("host lock: exclusive while held, taken over from a dead owner", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-lock-"));
  try {
    const a = await acquireHostLock("bench", { dir });
    let got = false;
    const waiting = acquireHostLock("bench", { dir, pollMs: 20 }).then((l) => {
      got = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(got, false, "second holder must wait");
    a.release();
    (await waiting).release();
    assert.equal(got, true);

    // A lock left by a process that died is taken over.
    const child = spawn("true");
    const pid = child.pid!;
    await new Promise((r) => child.once("exit", r));
    mkdirSync(join(dir, "bench.lock"));
    writeFileSync(join(dir, "bench.lock", "pid"), String(pid));
    const c = await acquireHostLock("bench", { dir, pollMs: 20 });
    c.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
