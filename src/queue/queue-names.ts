/** One queue for report (parent) jobs, one per runner pool (BullMQ job groups are a paid feature). */
export const ORCHESTRATOR_QUEUE = "orchestrator";

/** A runner pool's name: it is part of a queue name and a systemd unit instance (deploy/setup-runner.sh checks the same). */
export const POOL_NAME = /^[A-Za-z0-9_-]+$/;

export function poolQueue(pool: string): string {
  if (!POOL_NAME.test(pool)) throw new Error(`invalid pool name "${pool}"`);
  return `pool-${pool}`;
}
