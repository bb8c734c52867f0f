/** Exactly five verdict words (design/STATISTICS.md). */
export const VERDICTS = ["improvement", "regression", "no change", "inconclusive", "noisy"] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Which direction of a metric is good. tps up is good; latency down is good. */
export type Direction = "higher-is-better" | "lower-is-better";
