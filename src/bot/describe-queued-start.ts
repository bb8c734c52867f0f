/** A queued flow's row of the queue page, as far as an acknowledgement tells it. */
export interface QueuedStart {
  /** A runner has taken one of its stages already. */
  running: boolean;
  /** Place among its pool's waiting flows, from 1; null while running or when its jobs are not in the queue. */
  poolPosition: number | null;
  /** ISO time a runner is estimated to take it; null: running, or no runner of its pool is up. */
  startsAt: string | null;
}

/** Pure: "position 3 on runner pool `x`, estimated start 2026-01-02 10:20 UTC", in the queue page's numbers. */
export function describeQueuedStart(start: QueuedStart | null, pool: string): string {
  if (start?.running) return `taken at once by a runner of pool \`${pool}\``;
  const where = `${start?.poolPosition ? `position ${start.poolPosition}` : "position unknown"} on runner pool \`${pool}\``;
  if (start?.startsAt) return `${where}, estimated start ${start.startsAt.slice(0, 16).replace("T", " ")} UTC`;
  if (!start) return `${where}, no estimated start (the queue could not be read)`;
  return start.poolPosition ? `${where}, no estimated start (no runner of this pool is up)` : `${where}, no estimated start (its jobs are not in the pool's queue)`;
}
