/** Where kselftests live in a kernel tree. */
export const SELFTESTS_DIR = "tools/testing/selftests";

/**
 * Pure: the executables a series adds or changes under tools/testing/selftests, from
 * `git diff --raw -z --no-renames base head -- tools/testing/selftests` (paths relative to that
 * folder, in diff order). A file is a test program when its new mode is 100755.
 */
export function seriesKselftests(rawZ: string): string[] {
  const out: string[] = [];
  const parts = rawZ.split("\0");
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const m = /^:\d{6} (\d{6}) [0-9a-f]+ [0-9a-f]+ ([AM])$/.exec(parts[i]!.trim());
    const path = parts[i + 1]!;
    if (m && m[1] === "100755" && path.startsWith(`${SELFTESTS_DIR}/`)) out.push(path.slice(SELFTESTS_DIR.length + 1));
  }
  return out;
}

/** Pure: the configured tests, then the series' own (not already named), at most `max` of those. */
export function kselftestList(configured: readonly string[], fromSeries: readonly string[], max: number): { run: string[]; notRun: string[] } {
  const extra = fromSeries.filter((p) => !configured.includes(p));
  return { run: [...new Set([...configured, ...extra.slice(0, max)])], notRun: extra.slice(max) };
}
