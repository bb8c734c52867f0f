// The production form of patchbench: src/cli/main.ts bundled by esbuild into
// dist/patchbench.mjs (packages stay in node_modules). bin/patchbench.js runs
// the bundle, rebuilding it first when a source file is newer, so a clone works
// with no build step and the service does not carry tsx's loader thread
// (~40 MB of RSS) at run time.
//
//   node scripts/build.mjs          build now
//   import { ensureBundle } from "./build.mjs"   build only when stale
//
// Plain JavaScript on purpose: it runs before any TypeScript can be loaded.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const BUNDLE = join(ROOT, "dist", "patchbench.mjs");

/** Newest modification time (ms) among the inputs of the bundle. */
function newestInput() {
  let newest = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(ROOT, "src"));
  for (const f of ["package.json", "package-lock.json", "tsconfig.json", "scripts/build.mjs"]) {
    try {
      newest = Math.max(newest, statSync(join(ROOT, f)).mtimeMs);
    } catch {
      /* optional input */
    }
  }
  return newest;
}

/** True when the bundle exists and no input is newer. */
export function bundleIsFresh() {
  try {
    return statSync(BUNDLE).mtimeMs >= newestInput();
  } catch {
    return false;
  }
}

/**
 * Bundle `entry` (a path under the project) into `outfile`. Each dynamic
 * import becomes its own chunk (`<name>-chunks/<hash>.mjs`), so a command
 * loads only the packages it uses (`--help` none of the heavy ones). Files are
 * written beside their target and renamed, so concurrent builds (several CLIs
 * started at once) never leave a half-written bundle; chunks are named by
 * content, and the entry is renamed last.
 */
export async function bundle(entry, outfile) {
  const esbuild = await import("esbuild");
  const outdir = dirname(outfile);
  const name = basename(outfile, ".mjs");
  const result = await esbuild.build({
    entryPoints: { [name]: join(ROOT, entry) },
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    sourcesContent: false,
    write: false,
    outdir,
    outExtension: { ".js": ".mjs" },
    chunkNames: `${name}-chunks/[hash]`,
    logLevel: "silent",
    // Names stay as written: stack traces and logged errors read like the source.
    keepNames: true,
  });
  const chunkDir = join(outdir, `${name}-chunks`);
  mkdirSync(chunkDir, { recursive: true });
  const entryFirst = (f) => (basename(f.path).startsWith(`${name}.`) ? 1 : 0);
  const files = [...result.outputFiles].sort((a, b) => entryFirst(a) - entryFirst(b));
  for (const f of files) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents);
    renameSync(tmp, f.path);
  }
  // Chunks no bundle refers to any more go once they are an hour old (a CLI
  // started from the previous bundle may still be loading them).
  const keep = new Set(files.map((f) => f.path));
  for (const n of readdirSync(chunkDir)) {
    const p = join(chunkDir, n);
    if (keep.has(p)) continue;
    try {
      if (Date.now() - statSync(p).mtimeMs > 3600_000) rmSync(p, { force: true });
    } catch {
      /* removed by a concurrent build */
    }
  }
  return outfile;
}

/**
 * The bundle's path, (re)built when stale; null when it cannot be built here
 * (esbuild missing, read-only install) — the caller then runs the sources.
 */
export async function ensureBundle() {
  if (bundleIsFresh()) return BUNDLE;
  try {
    return await bundle("src/cli/main.ts", BUNDLE);
  } catch (err) {
    process.stderr.write(`patchbench: could not build ${relative(ROOT, BUNDLE)} (${err instanceof Error ? err.message : String(err)}); running the sources through tsx\n`);
    rmSync(`${BUNDLE}.${process.pid}.tmp`, { force: true });
    return null;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const t0 = Date.now();
  await bundle("src/cli/main.ts", BUNDLE);
  const { size } = statSync(BUNDLE);
  console.log(`built ${relative(ROOT, BUNDLE)} (${(size / 1024).toFixed(0)} KB) in ${Date.now() - t0} ms`);
}
