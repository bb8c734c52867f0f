/** One queue for report (parent) jobs, one per runner pool (BullMQ job groups are a paid feature). */
export const ORCHESTRATOR_QUEUE = "orchestrator";

export function poolQueue(pool: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(pool)) throw new Error(`invalid pool name "${pool}"`);
  return `pool-${pool}`;
}
