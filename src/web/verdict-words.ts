/** Most telling first: what a maintainer scanning the list looks for. */
const ORDER: readonly string[] = ["regression", "improvement", "noisy", "inconclusive", "no change"];
const PLURAL: Record<string, string> = { regression: "regressions", improvement: "improvements" };

/** Bench cells per verdict in words: "2 regressions, 1 no change"; "" when none was measured. */
export function verdictWords(counts: Readonly<Record<string, number>>): string {
  const keys = [...ORDER, ...Object.keys(counts).filter((k) => !ORDER.includes(k)).sort()];
  return keys
    .filter((k) => (counts[k] ?? 0) > 0)
    .map((k) => {
      const n = counts[k] ?? 0;
      return `${n} ${n === 1 ? k : (PLURAL[k] ?? k)}`;
    })
    .join(", ");
}
