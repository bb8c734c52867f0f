import { plural } from "../report/text-layout.ts";
/**
 * Pure: where a review's flow is, in words a user reads — the stage, the
 * bench's cell count and time left — instead of BullMQ's job states
 * (`waiting-children`, `delayed`).
 */
export interface StageProgress {
  stage: string;
  /** BullMQ job state: waiting, prioritized, delayed, active, completed, failed, waiting-children, unknown. */
  state: string;
  /** ms since the epoch: when a runner took the job / finished it. */
  startedAt: number | null;
  finishedAt: number | null;
}

export interface FlowProgressInput {
  stages: readonly StageProgress[];
  pool: string;
  /** The bench stage's matrix: cells and estimated seconds (planned rounds; adaptive rounds may add to it). */
  bench: { cells: number; estimateSec: number; adaptive: boolean } | null;
  now: number;
}

export function formatDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

export function describeFlowProgress(input: FlowProgressInput): string {
  const { stages, now } = input;
  const n = stages.length;
  const done = stages.filter((s) => s.state === "completed" || s.state === "failed");
  const i = stages.findIndex((s) => s.state !== "completed" && s.state !== "failed");
  if (i < 0) return `${n}/${n} stages done; writing the report`;
  const s = stages[i]!;
  const head = `stage ${i + 1}/${n} ${s.stage}`;
  const finished = done.length > 0 ? ` (${done.map((d) => d.stage).join(", ")} done)` : "";
  switch (s.state) {
    case "active": {
      const ran = s.startedAt ? (now - s.startedAt) / 1000 : 0;
      let extra = "";
      if (s.stage === "bench" && input.bench) {
        const left = input.bench.estimateSec - ran;
        extra = `, ${plural(input.bench.cells, "cell")} x 2 variants, ${left > 0 ? `about ${formatDuration(left)} left` : "past its estimate"}${input.bench.adaptive ? " (more if rounds are added)" : ""}`;
      }
      return `${head}: running for ${formatDuration(ran)}${extra}${finished}`;
    }
    case "delayed":
      return `${head}: retrying after an infrastructure error${finished}`;
    case "waiting":
    case "prioritized":
    case "waiting-children":
      return `${head}: waiting for a runner of pool "${input.pool}"${finished}`;
    default:
      return `${head}: ${s.state}${finished}`;
  }
}
