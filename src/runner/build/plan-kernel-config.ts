import type { BuildConfig } from "../../config/schema.ts";

export const SELFTESTS_BPF_CONFIG = "tools/testing/selftests/bpf/config";

export interface KernelConfigPlan {
  base: string;
  fragments: string[];
  extras: string[];
  /** argv steps, run in the tree in order (argv arrays, never a shell). */
  steps: string[][];
}

/**
 * Pure: how the .config is made — the base target (defconfig, tinyconfig…),
 * then merge_config.sh with the tree's selftests fragment when present and
 * the per-tree extras (written to `extrasFile`), then olddefconfig.
 */
export function planKernelConfig(cfg: BuildConfig, opts: { hasSelftestsConfig: boolean; extrasFile: string }): KernelConfigPlan {
  const fragments = cfg.selftestsConfig && opts.hasSelftestsConfig ? [SELFTESTS_BPF_CONFIG] : [];
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
