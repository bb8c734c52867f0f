import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root (the folder holding package.json). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The shared fixtures folder: `../shared/fixtures` beside the clone (CI lays
 * it there too); PATCHBENCH_FIXTURES overrides.
 */
export const FIXTURES = process.env.PATCHBENCH_FIXTURES ?? join(PROJECT_ROOT, "..", "shared", "fixtures");

export function fixturePath(...parts: string[]): string {
  const p = join(FIXTURES, ...parts);
  if (!existsSync(p)) throw new Error(`fixture missing: ${p} (expected ../shared/fixtures beside the clone)`);
  return p;
}

export function readFixture(...parts: string[]): Buffer {
  return readFileSync(fixturePath(...parts));
}
