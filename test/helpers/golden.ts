import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "./fixtures.ts";

const GOLDEN = join(PROJECT_ROOT, "test", "golden");

/** Compare what a human reads with test/golden/<name>; UPDATE_GOLDEN=1 (or a missing file) writes it. */
export function golden(name: string, actual: string): void {
  const p = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(p)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(p, actual);
  }
  assert.equal(actual, readFileSync(p, "utf8"), `golden ${name} differs (UPDATE_GOLDEN=1 to accept)`);
}
