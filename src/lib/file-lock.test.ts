import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { lockFile, lockFileSync } from "./file-lock.ts";

/** Whether another process can take the lock right now. */
function freeForOthers(path: string): boolean {
  return spawnSync("flock", ["--exclusive", "--nonblock", path, "true"]).status === 0;
}

test("lockFile holds the lock until release, against other processes and a second lock in this one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-file-lock-"));
  const path = join(dir, "lock");
  try {
    const l = await lockFile(path, 5000);
    assert.equal(freeForOthers(path), false);
    await assert.rejects(lockFile(path, 200), /stayed locked/);
    assert.throws(() => lockFileSync(path, 200), /stayed locked/);
    l.release();
    assert.equal(freeForOthers(path), true);
    const s = lockFileSync(path, 1000);
    assert.equal(freeForOthers(path), false);
    s.release();
    s.release();
    assert.equal(freeForOthers(path), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a lock whose holder was SIGKILLed is free: the kernel drops it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-file-lock-"));
  const path = join(dir, "lock");
  const code = `
    import { lockFile } from ${JSON.stringify(join(import.meta.dirname, "file-lock.ts"))};
    await lockFile(${JSON.stringify(path)}, 5000);
    process.stdout.write("held\\n");
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    await new Promise((r) => child.stdout.once("data", r));
    assert.equal(freeForOthers(path), false);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const l = await lockFile(path, 1000);
    l.release();
  } finally {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
