import type { BenchSample, Cell, Variant } from "./bench.ts";
import type { Status } from "./status.ts";

export const STAGES = ["apply", "selftests", "bench"] as const;
export type Stage = (typeof STAGES)[number];

/** What one runner stage returns (through the queue) to the report job. */
export interface StageResult<T = unknown> {
  stage: Stage;
  status: Status;
  /** One line for humans. */
  summary: string;
  startedAt: string;
  endedAt: string;
  runner: string;
  data: T;
}

export type BaseRule = "base-commit trailer" | "tree tip" | "given";

export interface ApplyData {
  tree: string;
  branch: string;
  baseCommit: string | null;
  baseRule: BaseRule | null;
  /** Why the earlier rules did not apply. */
  baseNotes: string[];
  head: string | null;
  applied: number;
  total: number;
  failure: {
    patch: number;
    subject: string;
    files: string[];
    gitMessage: string;
  } | null;
  rejected: { patch: number; reason: string }[];
}

export interface SuiteTest {
  suite: string;
  name: string;
  status: Status;
  detail: string;
  durationMs: number;
}

export interface SelftestsData {
  tests: SuiteTest[];
}

export interface BenchData {
  cells: Cell[];
  variants: Variant[];
  design: string;
  rounds: number;
  runsPerRound: number;
  durationSec: number;
  pinning: { local: number; remote: number } | null;
  samples: BenchSample[];
  profile: Record<string, string>;
  warnings: string[];
  problems: string[];
  commands: string[];
}
