import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder holding patchbench's package.json: the same answer whether this module runs from
 * src/ (through tsx) or from the bundle in dist/ (bin/patchbench.js), so files shipped beside
 * the code (config/, probe sources) are found in both.
 */
export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** A file of the source tree, by its path from the project root (e.g. "src/runner/probes/host-probe.py"). */
export function projectFile(...parts: string[]): string {
  return join(PROJECT_ROOT, ...parts);
}

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: unknown }).name === "patchbench") return dir;
      } catch {
        /* not ours; keep looking */
      }
    }
    if (dirname(dir) === dir) throw new Error(`patchbench's package.json not found above ${start}`);
  }
}
