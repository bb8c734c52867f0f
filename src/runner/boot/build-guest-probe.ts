import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { type Exec, exec as defaultExec } from "../../lib/exec.ts";
import { projectFile } from "../../lib/project-root.ts";

const SOURCE = projectFile("src/runner/boot/guest-probe.c");

/** Compile guest-probe.c statically (gcc -static), cached by source hash. Returns the binary path. */
export async function buildGuestProbe(cacheDir: string, exec: Exec = defaultExec): Promise<string> {
  const src = readFileSync(SOURCE);
  const hash = createHash("sha256").update(src).digest("hex").slice(0, 16);
  const out = join(cacheDir, `guest-probe-${hash}`);
  if (existsSync(out)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  await exec(["gcc", "-static", "-O2", "-Wall", "-o", tmp, SOURCE], { timeoutMs: 120_000 });
  renameSync(tmp, out);
  return out;
}
