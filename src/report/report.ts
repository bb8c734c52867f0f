import type { Cell, Variant } from "../domain/bench.ts";
import type { ApplyData, BenchData, BuildData, SelftestsData, StageResult } from "../domain/results.ts";
import type { Series } from "../domain/series.ts";
import type { Status } from "../domain/status.ts";
import type { Verdict } from "../domain/verdict.ts";
import type { CellAnalysis } from "../stats/analyze-cell.ts";
import type { SeriesClaimCheck } from "../stats/claims/check-series-claims.ts";

/** Per-run spread of one side of a cell, for the LKP-style block. */
export interface SideSummary {
  variant: string;
  /** Geometric mean of round values. */
  mean: number;
  /** Round-level CV as a fraction. */
  cv: number;
  rounds: number;
  runs: number;
  failedRuns: number;
}

export interface ReportCell {
  cell: Cell;
  metric: string;
  unit: string;
  a: SideSummary;
  b: SideSummary;
  analysis: CellAnalysis;
}

/** One A -> B comparison of a bench: its two variants and each cell's verdict. */
export interface ReportComparison {
  variants: [Variant, Variant];
  cells: ReportCell[];
  counts: Record<Verdict, number>;
}

/** An arm: the candidate kernel with extra settings, against the plain candidate and against the base. */
export interface ReportArm {
  name: string;
  claimedAs: { from: string; to: string } | null;
  vsCandidate: ReportComparison;
  vsBase: ReportComparison;
}

export interface Report {
  id: string;
  series: Pick<Series, "title" | "version" | "tree" | "author" | "rfc" | "total" | "cover" | "patches" | "id">;
  /** The subject a reply answers, and the Message-IDs it threads under. */
  thread: { subject: string; inReplyTo: string | null; references: string[] };
  status: Status;
  headline: string;
  /** Set when the series was not run at all (over an ingest cap): the reason, which is also the headline. */
  notRun?: string;
  apply: StageResult<ApplyData> | null;
  selftests: StageResult<SelftestsData> | null;
  build: StageResult<BuildData> | null;
  bench: (ReportComparison & {
    stage: StageResult<BenchData>;
    /** Arms of a kernel A/B (candidate kernel with extra settings); absent or empty without. */
    arms?: ReportArm[];
  }) | null;
  /** Stages that died of infrastructure, with the reason. */
  errors: { stage: string; reason: string }[];
  /**
   * What changed since the newest earlier version of the series that ran: that version's number and
   * each change in words (none: no verdict changed). Absent when no earlier version ran.
   */
  since?: { version: number; changes: string[] };
  /** Claim check: the series' performance claims against the measured cells; absent without a bench. */
  claims?: SeriesClaimCheck[];
  generatedAt: string;
  tool: { name: string; version: string };
}
