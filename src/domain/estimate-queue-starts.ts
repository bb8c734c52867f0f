/** A flow with stage jobs in a pool's queue, oldest first as enqueued. */
export interface PoolFlow {
  flowId: string;
  pool: string;
  /** Runner seconds of the stages it has left (stageSeconds summed); null: its plan could not be read (counted as 0). */
  remainingSec: number | null;
  /** One of its stage jobs is active on a runner. */
  running: boolean;
}

/** A runner agent as the registry shows it. */
export interface PoolRunner {
  pool: string;
  state: string;
  job: { flowId: string } | null;
  /** Seconds its current job has run. */
  jobSec: number | null;
}

export interface FlowStart {
  flowId: string;
  pool: string;
  running: boolean;
  /** Place among the pool's waiting flows, from 1; null while running. */
  position: number | null;
  /** Seconds from now until a runner takes it (0: as soon as it is free); null: running, or no runner is up in its pool. */
  startInSec: number | null;
  /** Seconds of runner time it has left (running: less what its current stage has run). */
  remainingSec: number | null;
}

export interface PoolLoad {
  pool: string;
  idle: number;
  busy: number;
  running: number;
  waiting: number;
}

/**
 * Pure: when each waiting flow of a pool starts, if every estimate held. A runner takes one stage
 * at a time and a flow's stages run one after another, so a flow is counted as holding one runner
 * for all the stages it has left. An idle runner is free now; a busy one when the flow it runs has
 * used up its estimate (its current stage's elapsed time taken off), or now when that flow is
 * unknown. Waiting flows go in order to the runner free first. Lost and stopped runners take nothing.
 */
export function estimateQueueStarts(flows: readonly PoolFlow[], runners: readonly PoolRunner[]): { starts: FlowStart[]; pools: PoolLoad[] } {
  const poolNames = [...new Set([...runners.map((r) => r.pool), ...flows.map((f) => f.pool)])].sort();
  const byId = new Map(flows.map((f) => [f.flowId, f]));
  const starts: FlowStart[] = [];
  const pools: PoolLoad[] = [];
  for (const pool of poolNames) {
    const up = runners.filter((r) => r.pool === pool && (r.state === "idle" || r.state === "busy"));
    const freeIn = up.map((r) => {
      if (r.state !== "busy" || !r.job) return 0;
      const left = byId.get(r.job.flowId)?.remainingSec ?? 0;
      return Math.max(0, left - (r.jobSec ?? 0));
    });
    const mine = flows.filter((f) => f.pool === pool);
    let position = 0;
    for (const f of mine) {
      if (f.running) {
        const on = up.find((r) => r.job?.flowId === f.flowId);
        const left = f.remainingSec === null ? null : Math.max(0, f.remainingSec - (on?.jobSec ?? 0));
        starts.push({ flowId: f.flowId, pool, running: true, position: null, startInSec: null, remainingSec: left });
        continue;
      }
      position += 1;
      let startInSec: number | null = null;
      if (freeIn.length > 0) {
        let at = 0;
        for (let i = 1; i < freeIn.length; i++) if (freeIn[i]! < freeIn[at]!) at = i;
        startInSec = freeIn[at]!;
        freeIn[at] = startInSec + (f.remainingSec ?? 0);
      }
      starts.push({ flowId: f.flowId, pool, running: false, position, startInSec, remainingSec: f.remainingSec });
    }
    pools.push({
      pool,
      idle: up.filter((r) => r.state === "idle").length,
      busy: up.filter((r) => r.state === "busy").length,
      running: mine.filter((f) => f.running).length,
      waiting: position,
    });
  }
  return { starts, pools };
}
