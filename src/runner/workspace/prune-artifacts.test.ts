import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pruneArtifacts } from "./prune-artifacts.ts";

const DAY = 86_400_000;

test("pruneArtifacts: old folders go, then the oldest until the rest fits; a folder in use stays", () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-artifacts-"));
  try {
    const now = Date.parse("2026-11-25T12:00:00Z");
    const make = (name: string, ageMs: number, bytes: number) => {
      mkdirSync(join(dir, name, "sub"), { recursive: true });
      const f = join(dir, name, "sub", "build.log");
      writeFileSync(f, Buffer.alloc(bytes));
      const t = new Date(now - ageMs);
      for (const p of [f, join(dir, name, "sub"), join(dir, name)]) utimesSync(p, t, t);
    };
    make("flow-ancient", 30 * DAY, 10);
    make("flow-old", 5 * DAY, 400);
    make("flow-mid", 2 * DAY, 400);
    make("flow-new", 1 * DAY, 400);
    make("flow-running", 60_000, 5000);
    const r = pruneArtifacts({ dir, keepDays: 14, maxBytes: 6000, busyMs: 3600_000, now });
    assert.deepEqual(
      r.removed.map((x) => [x.name, x.why, x.bytes]),
      [
        ["flow-ancient", "age", 10],
        ["flow-old", "size", 400],
      ],
    );
    assert.deepEqual(readdirSync(dir).sort(), ["flow-mid", "flow-new", "flow-running"]);
    assert.equal(r.keptBytes, 5800);
    // Over budget on its own, the running job's folder is still kept.
    const again = pruneArtifacts({ dir, keepDays: 14, maxBytes: 100, busyMs: 3600_000, now });
    assert.deepEqual(
      again.removed.map((x) => x.name),
      ["flow-mid", "flow-new"],
    );
    assert.ok(existsSync(join(dir, "flow-running", "sub", "build.log")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(pruneArtifacts({ dir: join(dir, "missing"), keepDays: 1, maxBytes: 1, busyMs: 0 }), { removed: [], keptBytes: 0 });
});
