import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Git } from "../../lib/git.ts";
import type { Logger } from "../../lib/logger.ts";
import { listMirrors } from "./ensure-mirror.ts";

/**
 * Fetch every mirror of this runner on a schedule (jobs then find them
 * fresh and skip their own fetch). Heads and tags only: the flow refs the
 * runner keeps under refs/patchbench are never pruned by a fetch.
 */
export function startMirrorSchedule(opts: { git: Git; workDir: string; intervalMs: number; log: Logger }): { stop(): void } {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      for (const repo of listMirrors(opts.workDir)) {
        const r = await opts.git(["fetch", "--prune", "--quiet", "origin", "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"], {
          repo,
          okCodes: "any",
          timeoutMs: 3600_000,
        });
        if (r.code === 0) writeFileSync(join(repo, "patchbench-last-fetch"), String(Date.now()));
        else opts.log.warn({ repo, stderr: r.stderr.trim().slice(-500) }, "scheduled mirror fetch failed");
      }
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
