import type { BuildConfig } from "../../config/schema.ts";
import { projectFile } from "../../lib/project-root.ts";

export const SELFTESTS_BPF_CONFIG = "tools/testing/selftests/bpf/config";
/** What a kernel needs to boot as a patchbench guest (outside the tree: an absolute path). */
export const GUEST_CONFIG = projectFile("src", "runner", "guest", "guest.config");

export interface KernelConfigPlan {
  base: string;
  fragments: string[];
  extras: string[];
  /** argv steps, run in the tree in order (argv arrays, never a shell). */
  steps: string[][];
}

/**
 * Pure: how the .config is made — the base target (defconfig, tinyconfig…),
 * then merge_config.sh with the tree's selftests fragment when present, the
 * guest fragment, and the per-tree extras (written to `extrasFile`), then
 * olddefconfig. The fragments are named in the build result and the report.
 */
export function planKernelConfig(cfg: BuildConfig, opts: { hasSelftestsConfig: boolean; extrasFile: string }): KernelConfigPlan {
  const fragments = [...(cfg.selftestsConfig && opts.hasSelftestsConfig ? [SELFTESTS_BPF_CONFIG] : []), ...(cfg.guestConfig ? [GUEST_CONFIG] : [])];
  const merge = [...fragments, ...(cfg.extras.length > 0 ? [opts.extrasFile] : [])];
  const steps: string[][] = [["make", cfg.baseConfig]];
  if (merge.length > 0) steps.push(["sh", "scripts/kconfig/merge_config.sh", "-m", ".config", ...merge]);
  steps.push(["make", "olddefconfig"]);
  return { base: cfg.baseConfig, fragments, extras: cfg.extras, steps };
}

/** Pure: the lines of the extras fragment. */
export function extrasFragment(extras: readonly string[]): string {
  return extras.length > 0 ? `${extras.join("\n")}\n` : "";
}

/**
 * Pure: the options a fragment asked for that the final .config does not have
 * (a symbol the tree lacks, or one whose dependencies cannot be met). Only
 * `=y`/`=m`/value requests are checked; `=n` and "is not set" are wishes.
 */
export function missingOptions(fragments: readonly string[], dotConfig: string): string[] {
  const have = new Map<string, string>();
  for (const line of dotConfig.split("\n")) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) have.set(m[1]!, m[2]!);
  }
  const missing = new Set<string>();
  for (const text of fragments) {
    for (const line of text.split("\n")) {
      const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
      if (!m || m[2] === "n") continue;
      const got = have.get(m[1]!);
      if (got === undefined || (m[2] !== got && !(m[2] === "m" && got === "y"))) missing.add(`${m[1]}=${m[2]}${got === undefined ? "" : ` (got ${got})`}`);
    }
  }
  return [...missing];
}
