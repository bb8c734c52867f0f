import { createHash } from "node:crypto";

/**
 * Deterministic ids for jobs and records. BullMQ job ids may not contain ':'
 * and must not be all digits (https://docs.bullmq.io/guide/jobs/job-ids).
 */
export function stableId(prefix: string, ...parts: readonly string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return `${prefix}-${h.digest("hex").slice(0, 20)}`;
}

/** Stable JSON (sorted keys) so equal plans hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return v;
  });
}
