import { createHash } from "node:crypto";
import { copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { TestProgsBuild } from "../../domain/results.ts";

/**
 * test_progs builds kept by what decides their bytes — the commit, the tests, the BTF its
 * vmlinux.h came from, the compiler — so a later flow on the same commit (a `/bench` on a series
 * whose flow already ran, a base shared by many series) copies the binary instead of building it.
 * One folder per build, `<artifacts>/test-progs-<key>`, beside the kept kernels: same retention.
 */

const FORMAT = "test-progs-cache/1";

/** Pure: the folder's key. `btfSha256` is the hash of the BTF file vmlinux.h is made from. */
export function testProgsCacheKey(i: { commit: string; tests: readonly string[]; btfSha256: string; compiler: string }): string {
  const h = createHash("sha256");
  for (const s of [FORMAT, i.commit, [...i.tests].sort().join(","), i.btfSha256, i.compiler]) h.update(`${s.length}:${s}\n`);
  return h.digest("hex").slice(0, 24);
}

export const sha256File = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

const storedSchema = z.object({ flowId: z.string(), builtAt: z.string(), present: z.array(z.string()), seconds: z.number() }).strict();
const folderOf = (artifactsRoot: string, key: string) => join(artifactsRoot, `test-progs-${key}`);

/** A kept build for this key, copied to `dir` (the flow's test_progs-<side>/), or null. */
export function takeCachedTestProgs(o: { artifactsRoot: string; key: string; dir: string; label: "base" | "candidate" }): TestProgsBuild | null {
  const kept = folderOf(o.artifactsRoot, o.key);
  const meta = join(kept, "build.json");
  if (!existsSync(meta)) return null;
  let s: z.infer<typeof storedSchema>;
  try {
    s = storedSchema.parse(JSON.parse(readFileSync(meta, "utf8")));
  } catch {
    rmSync(kept, { recursive: true, force: true });
    return null;
  }
  if (s.present.length > 0 && !existsSync(join(kept, "files", "test_progs"))) {
    rmSync(kept, { recursive: true, force: true });
    return null;
  }
  rmSync(o.dir, { recursive: true, force: true });
  if (s.present.length > 0) cpSync(join(kept, "files"), o.dir, { recursive: true, preserveTimestamps: true });
  const now = new Date();
  utimesSync(meta, now, now);
  return { label: o.label, dir: s.present.length > 0 ? o.dir : null, present: s.present, problem: null, seconds: 0, reused: { flowId: s.flowId, builtAt: s.builtAt, seconds: s.seconds } };
}

/** Keep a fresh, successful build under its key (written aside, then renamed: never half a folder). */
export function keepTestProgs(o: { artifactsRoot: string; key: string; flowId: string; build: TestProgsBuild }): void {
  const b = o.build;
  if (b.problem !== null || b.reused) return;
  const kept = folderOf(o.artifactsRoot, o.key);
  if (existsSync(kept)) return;
  const tmp = `${kept}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "files"), { recursive: true });
  if (b.dir) {
    for (const name of readdirSync(b.dir)) {
      if (lstatSync(join(b.dir, name)).isFile()) copyFileSync(join(b.dir, name), join(tmp, "files", name));
    }
  }
  const stored: z.infer<typeof storedSchema> = { flowId: o.flowId, builtAt: new Date().toISOString(), present: b.present, seconds: b.seconds };
  writeFileSync(join(tmp, "build.json"), `${JSON.stringify(stored, null, 2)}\n`);
  try {
    renameSync(tmp, kept);
  } catch {
    // Another job kept the same build first: theirs stays.
    rmSync(tmp, { recursive: true, force: true });
  }
}
