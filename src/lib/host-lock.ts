import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isPidAlive } from "./is-pid-alive.ts";

/**
 * A machine-wide lock for work that must not share the box (benchmarks,
 * which change host sysctls and need quiet CPUs). A directory created
 * atomically with mkdir holds the owner's PID; a lock whose owner is dead is
 * taken over. Works across processes and data folders on one machine.
 */
export const DEFAULT_LOCK_DIR = process.env.PATCHBENCH_LOCK_DIR ?? "/tmp/patchbench-locks";


export interface HostLock {
  release(): void;
}

export async function acquireHostLock(
  name: string,
  opts: { dir?: string; signal?: AbortSignal; onWait?: (ownerPid: number) => void; pollMs?: number } = {},
): Promise<HostLock> {
  const path = join(opts.dir ?? DEFAULT_LOCK_DIR, `${name}.lock`);
  mkdirSync(dirname(path), { recursive: true });
  let notified = false;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, "pid"), String(process.pid));
      return {
        release() {
          rmSync(path, { recursive: true, force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(join(path, "pid"), "utf8"));
    } catch {
      /* being created or removed right now */
    }
    if (Number.isInteger(owner) && owner > 0 && !isPidAlive(owner)) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (!notified && Number.isInteger(owner)) {
      opts.onWait?.(owner);
      notified = true;
    }
    if (opts.signal?.aborted) throw new Error("aborted while waiting for the host lock");
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
}
