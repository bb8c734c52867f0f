import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";

const dir = mkdtempSync(join(tmpdir(), "pb-interrupt-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const url = (f: string) => pathToFileURL(join(import.meta.dirname, f)).href;

/** A child process running `code` (ESM, with tsx); resolves with how it ended and its stderr. */
function child(code: string, onReady: (c: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let ready = false;
    c.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (!ready && stderr.includes("ready\n")) {
        ready = true;
        onReady(c);
      }
    });
    c.on("exit", (code, signal) => resolve({ code, signal, stderr }));
  });
}

test("a signal before any command watches: exit 130 with one line, not Node's silent death by SIGTERM", async () => {
  const r = await child(`import { armInterrupts } from ${JSON.stringify(url("interrupt.ts"))}; armInterrupts(); process.stderr.write("ready\\n"); setInterval(() => {}, 1000);`, (c) => c.kill("SIGTERM"));
  assert.equal(r.signal, null);
  assert.equal(r.code, 130);
  assert.equal(r.stderr, "ready\npatchbench: interrupted (SIGTERM)\n");
});

for (const how of ["SIGTERM", "EPIPE"] as const) {
  test(`a service (start, runner) stops through its cleanup on ${how}, the same path for both`, async () => {
    const marker = join(dir, `${how}.done`);
    // The cleanup writes the marker, as workers.close() would hand back a running stage; then the command returns.
    const code = `
      import { writeFileSync } from "node:fs";
      import { armInterrupts } from ${JSON.stringify(url("interrupt.ts"))};
      import { waitForShutdown } from ${JSON.stringify(url("wait-for-shutdown.ts"))};
      import { silentLogger } from ${JSON.stringify(url("../lib/logger.ts"))};
      armInterrupts();
      waitForShutdown(silentLogger()).then((why) => { writeFileSync(${JSON.stringify(marker)}, why); process.exit(why === "EPIPE" ? 141 : 0); });
      process.stderr.write("ready\\n");
      // A service writes to stderr now and then; after the reader left, the next write meets EPIPE.
      setInterval(() => process.stderr.write("tick\\n"), 20);`;
    const r = await child(code, (c) => (how === "SIGTERM" ? c.kill("SIGTERM") : c.stderr!.destroy()));
    assert.equal(r.signal, null);
    assert.equal(r.code, how === "EPIPE" ? 141 : 0);
    assert.equal(readFileSync(marker, "utf8"), how);
  });
}
