import { createHash } from "node:crypto";
import { packText, unpackText } from "../../domain/packed-text.ts";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { BuildConfig } from "../../config/schema.ts";
import type { KernelBuild } from "../../domain/results.ts";
import { extrasFragment, planKernelConfig } from "./plan-kernel-config.ts";

/**
 * Built kernels kept by commit and configuration, so a flow on a commit this runner built before
 * (a base shared by every series on it, a `/bench` on a series whose build already ran) boots
 * that image instead of building again. One folder per kernel, `<artifacts>/kernel-<key>`,
 * beside the flows' folders so the same retention (age, then size) applies to both.
 */

/** What decides the bytes of an image besides the commit: every input of the .config and the compiler. */
export interface KernelCacheInputs {
  commit: string;
  config: BuildConfig;
  /** The tree has tools/testing/selftests/bpf/config at this commit (a fragment when selftestsConfig). */
  hasSelftestsConfig: boolean;
  /** `gcc -dumpfullversion` of the runner (a new compiler builds a new kernel). */
  compiler: string;
}

// 2: a kept kernel holds the .config it was built from; 3: its /proc/version names its commit
// (#<commit>, which an ssh target is checked against). Kernels kept before are not reused.
const FORMAT = "kernel-cache/3";

/** Pure but for reading the absolute fragments (patchbench's guest config): the folder's key. */
export function kernelCacheKey(i: KernelCacheInputs): string {
  const plan = planKernelConfig(i.config, { hasSelftestsConfig: i.hasSelftestsConfig, extrasFile: "" });
  const h = createHash("sha256");
  const part = (s: string) => h.update(`${s.length}:${s}\n`);
  for (const s of [FORMAT, i.commit, i.compiler, i.config.baseConfig, i.config.target, extrasFragment(i.config.extras)]) part(s);
  // Fragments inside the tree are fixed by the commit; the ones outside it are hashed by content.
  for (const f of plan.fragments) part(f.startsWith("/") ? readFileSync(f, "utf8") : f);
  return h.digest("hex").slice(0, 24);
}

const storedSchema = z
  .object({
    flowId: z.string(),
    builtAt: z.string(),
    build: z.object({
      commit: z.string(),
      durationMs: z.number(),
      warnings: z.array(z.object({ file: z.string(), line: z.number(), message: z.string(), flag: z.string().nullable() }).strict()),
      logTail: z.string(),
      ccache: z.boolean(),
    }),
  })
  .strict();

const folderOf = (artifactsRoot: string, key: string) => join(artifactsRoot, `kernel-${key}`);

/** The vmlinux.h kept beside a kept kernel (dumped from its BTF when an arm's program needed one). */
export const keptVmlinuxHeader = (artifactsRoot: string, key: string): string => join(folderOf(artifactsRoot, key), "vmlinux.h");

/** The raw BTF kept beside a kept kernel (its vmlinux's .BTF section: vmlinux.h of a later flow's test_progs). */
export const keptKernelBtf = (artifactsRoot: string, key: string): string => join(folderOf(artifactsRoot, key), "vmlinux.btf");

/**
 * A kept kernel for this key, copied into the flow's folder as `bzImage-<label>` with its log, or
 * null (never kept, or a folder that does not read back whole: it is removed and built again).
 */
export function takeCachedKernel(o: { artifactsRoot: string; key: string; artifactsDir: string; label: "base" | "candidate" }): KernelBuild | null {
  const dir = folderOf(o.artifactsRoot, o.key);
  const meta = join(dir, "build.json");
  if (!existsSync(meta)) return null;
  const started = Date.now();
  const parsed = (() => {
    try {
      return storedSchema.safeParse(JSON.parse(readFileSync(meta, "utf8")));
    } catch {
      return null;
    }
  })();
  if (!parsed?.success || !existsSync(join(dir, "bzImage"))) {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  const s = parsed.data;
  mkdirSync(o.artifactsDir, { recursive: true });
  const image = join(o.artifactsDir, `bzImage-${o.label}`);
  const logPath = join(o.artifactsDir, `build-${o.label}.log`);
  copyFileSync(join(dir, "bzImage"), image);
  writeFileSync(logPath, `kernel reused: ${o.key} (built for flow ${s.flowId} at ${s.builtAt}); its build log:\n`);
  if (existsSync(join(dir, "build.log"))) writeFileSync(logPath, readFileSync(join(dir, "build.log")), { flag: "a" });
  // Retention goes by the newest time inside a folder: a kernel in use stays.
  const now = new Date();
  utimesSync(meta, now, now);
  return {
    commit: s.build.commit,
    ok: true,
    durationMs: Date.now() - started,
    warnings: s.build.warnings,
    logTail: s.build.logTail,
    logPath,
    image,
    ccache: s.build.ccache,
    reused: { flowId: s.flowId, builtAt: s.builtAt, buildMs: s.build.durationMs },
    ...(existsSync(join(dir, "config")) ? { dotConfig: packText(readFileSync(join(dir, "config"), "utf8")) } : {}),
  };
}

/** Keeps a fresh build's image and log under its key (written aside, then renamed: never half a folder). */
export function keepBuiltKernel(o: { artifactsRoot: string; key: string; flowId: string; build: KernelBuild }): void {
  const { build } = o;
  if (!build.ok || !build.image || build.reused) return;
  const dir = folderOf(o.artifactsRoot, o.key);
  if (existsSync(dir)) return;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  copyFileSync(build.image, join(tmp, "bzImage"));
  if (existsSync(build.logPath)) copyFileSync(build.logPath, join(tmp, "build.log"));
  if (build.dotConfig) writeFileSync(join(tmp, "config"), unpackText(build.dotConfig));
  const stored: z.infer<typeof storedSchema> = {
    flowId: o.flowId,
    builtAt: new Date().toISOString(),
    build: { commit: build.commit, durationMs: build.durationMs, warnings: build.warnings, logTail: build.logTail, ccache: build.ccache },
  };
  writeFileSync(join(tmp, "build.json"), `${JSON.stringify(stored, null, 2)}\n`);
  try {
    renameSync(tmp, dir);
  } catch {
    // Another job kept the same kernel first: theirs stays.
    rmSync(tmp, { recursive: true, force: true });
  }
}
