import { stableId } from "../domain/ids.ts";

/**
 * Every BullMQ job id and every Redis key patchbench makes. Ids are
 * deterministic, so a retry, a redelivered webhook or a second enqueue of
 * the same flow finds the job that is already there instead of adding one.
 */

/** The parent (report) job of a flow: Redis knows a flow while it holds this job. */
export function reportJobId(flowId: string): string {
  return `${flowId}-report`;
}

/** A runner stage of a flow; also the key of that stage's worktree on a runner. */
export function stageJobId(flowId: string, stage: string): string {
  return `${flowId}-${stage}`;
}

const STAGE_JOB_ID = /^(.+)-(apply|build|selftests|bench)$/;

/** Pure: the flow and stage a stage job's id names (stageJobId backwards); null for another id. */
export function parseStageJobId(id: string): { flowId: string; stage: string } | null {
  const m = STAGE_JOB_ID.exec(id);
  return m ? { flowId: m[1]!, stage: m[2]! } : null;
}

/** The github queue's job for one webhook delivery (X-GitHub-Delivery, made safe for a job id). */
export function githubEventJobId(deliveryId: string): string {
  return `gh-${deliveryId.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** Claimed once per webhook delivery, so a redelivery is handled once. */
export function githubDeliveryKey(prefix: string, deliveryId: string): string {
  return `${prefix}:github:delivery:${deliveryId}`;
}

/** The one refusal a sender gets per place per day. */
export function benchRefusedKey(prefix: string, sender: string, place: string): string {
  return `${prefix}:bench:refused:${stableId("r", sender, place)}`;
}

/** `/bench` rate windows: per sender, and for everyone. */
export function benchRateKeys(prefix: string, window: string, sender: string): { sender: string; all: string } {
  return { sender: `${prefix}:bench:rate:${window}:${stableId("s", sender)}`, all: `${prefix}:bench:rate:${window}:all` };
}

/** The count of refusal replies sent in one hour (everyone together), and the mark that its cap was logged. */
export function benchRefusalCapKeys(prefix: string, hour: string): { count: string; logged: string } {
  return { count: `${prefix}:bench:refusals:${hour}`, logged: `${prefix}:bench:refusals:${hour}:logged` };
}

/** The hash of runner agents' heartbeats (field: runner id, value: its record as JSON). */
export function runnersKey(prefix: string): string {
  return `${prefix}:runners`;
}

/** A mail source's lease (hash: holder, fence), held by one orchestrator at a time. */
export function sourceLeaseKey(prefix: string, sourceLabel: string): string {
  return `${prefix}:lease:source:${stableId("src", sourceLabel)}`;
}

/** The counter a source's fencing tokens are drawn from (survives the lease itself). */
export function sourceFenceKey(prefix: string, sourceLabel: string): string {
  return `${prefix}:lease:fence:${stableId("src", sourceLabel)}`;
}

/** The hash of live orchestrators (field: orchestrator id, value: its presence as JSON). */
export function orchestratorsKey(prefix: string): string {
  return `${prefix}:orchestrators`;
}

/** The set of pids using a data dir's private redis-server (it serves one data dir: no prefix). */
export const PRIVATE_REDIS_USERS_KEY = "patchbench-private:users";
