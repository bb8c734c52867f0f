/** How much one series may ask of the runners (ingest.maxPatches / ingest.maxSeriesBytes). */
export interface SeriesCaps {
  maxPatches: number;
  maxSeriesBytes: number;
}

const NOT_RUN = "; not run";

/** Is a stage summary a cap refusal (the report's headline then says only that)? */
export function isCapRefusal(summary: string): boolean {
  return summary.startsWith("series has ") && summary.endsWith(NOT_RUN);
}

/**
 * Pure: the one rule for every source (mail, GitHub PRs, the CLI). A series
 * over a cap is not run; the line returned is its result. `patches` is the
 * larger of the patches at hand and the count the series announces.
 */
export function seriesCapProblem(s: { patches: number; bytes: number }, caps: SeriesCaps): string | null {
  if (s.patches > caps.maxPatches) return `series has ${s.patches} patches, over ingest.maxPatches=${caps.maxPatches}${NOT_RUN}`;
  if (s.bytes > caps.maxSeriesBytes) {
    return `series has ${s.bytes} bytes of patches, over ingest.maxSeriesBytes=${caps.maxSeriesBytes}${NOT_RUN}`;
  }
  return null;
}
