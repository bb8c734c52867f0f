import { lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface PruneArtifactsOptions {
  /** `<workDir>/artifacts`: one folder per flow (build logs, kernel images, consoles). */
  dir: string;
  /** Folders untouched for longer than this are removed. */
  keepDays: number;
  /** Then, oldest first, until the rest fits in this many bytes. */
  maxBytes: number;
  /** Folders touched more recently than this are never removed (a job may be writing them). */
  busyMs: number;
  now?: number;
}

export interface PrunedArtifacts {
  removed: { name: string; bytes: number; why: "age" | "size" }[];
  keptBytes: number;
}

interface Entry {
  name: string;
  bytes: number;
  /** Newest modification time inside the folder. */
  touched: number;
}

function measure(dir: string): { bytes: number; touched: number } {
  let bytes = 0;
  let touched = 0;
  const walk = (p: string): void => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) return;
    touched = Math.max(touched, st.mtimeMs);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else bytes += st.size;
  };
  walk(dir);
  return { bytes, touched };
}

/**
 * Retention of the runner's artifacts: by age, then by total size, oldest first. A folder a job
 * touched within `busyMs` stays whatever its size, so a running job never loses its files.
 */
export function pruneArtifacts(o: PruneArtifactsOptions): PrunedArtifacts {
  const now = o.now ?? Date.now();
  let names: string[];
  try {
    names = readdirSync(o.dir);
  } catch {
    return { removed: [], keptBytes: 0 };
  }
  const entries: Entry[] = names.map((name) => ({ name, ...measure(join(o.dir, name)) }));
  entries.sort((a, b) => a.touched - b.touched);
  const removed: PrunedArtifacts["removed"] = [];
  const drop = (e: Entry, why: "age" | "size"): void => {
    rmSync(join(o.dir, e.name), { recursive: true, force: true });
    removed.push({ name: e.name, bytes: e.bytes, why });
  };
  const kept: Entry[] = [];
  for (const e of entries) {
    const busy = now - e.touched < o.busyMs;
    if (!busy && now - e.touched > o.keepDays * 86_400_000) drop(e, "age");
    else kept.push(e);
  }
  let total = kept.reduce((s, e) => s + e.bytes, 0);
  for (const e of [...kept]) {
    if (total <= o.maxBytes) break;
    if (now - e.touched < o.busyMs) continue;
    drop(e, "size");
    total -= e.bytes;
    kept.splice(kept.indexOf(e), 1);
  }
  return { removed, keptBytes: total };
}
