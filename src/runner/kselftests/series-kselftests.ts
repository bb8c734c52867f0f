import { parseRawDiffZ } from "../../domain/raw-diff.ts";

/** Where kselftests live in a kernel tree. */
export const SELFTESTS_DIR = "tools/testing/selftests";

/**
 * Pure: the executables a series adds or changes under tools/testing/selftests, from
 * `git diff --raw -z --no-renames base head -- tools/testing/selftests` (paths relative to that
 * folder, in diff order). A file is a test program when its new mode is 100755.
 */
export function seriesKselftests(rawZ: string): string[] {
  return parseRawDiffZ(rawZ)
    .filter((e) => (e.status === "A" || e.status === "M") && e.newMode === "100755" && e.path.startsWith(`${SELFTESTS_DIR}/`))
    .map((e) => e.path.slice(SELFTESTS_DIR.length + 1));
}

/** Pure: the configured tests, then the series' own (not already named), at most `max` of those. */
export function kselftestList(configured: readonly string[], fromSeries: readonly string[], max: number): { run: string[]; notRun: string[] } {
  const extra = fromSeries.filter((p) => !configured.includes(p));
  return { run: [...new Set([...configured, ...extra.slice(0, max)])], notRun: extra.slice(max) };
}
