#!/usr/bin/env node
// Entry point. Runs dist/patchbench.mjs, the esbuild bundle of src/ (rebuilt
// here when a source file is newer: scripts/build.mjs), so a clone works with
// no build step. PATCHBENCH_FROM_SOURCE=1, or a bundle that cannot be built,
// runs src/ through tsx's loader instead.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ensureBundle, ROOT } from "../scripts/build.mjs";

const fromSource = process.env.PATCHBENCH_FROM_SOURCE === "1";
const bundle = fromSource ? null : await ensureBundle();
if (bundle !== null) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(ROOT, "src/cli/main.ts")).href);
}
