import type { Redis } from "ioredis";

/**
 * A mail source is polled by one orchestrator at a time: the one holding its
 * lease in Redis. Each acquisition draws a fencing token from a counter; the
 * store refuses a cursor write whose token is older than the last one written
 * (src/store/cursor-repository.ts), so an orchestrator that lost its lease in
 * the middle of a poll cannot move the cursor under the new holder.
 */

/** How long a lease lives without renewal, and how often holders renew and others try to take it. */
export interface LeaseTiming {
  ttlMs: number;
  everyMs: number;
}

/**
 * Pure: half the source's poll interval, between 5 and 30 s, renewed three
 * times per life. A dead holder's source is taken over within ttl + 2 × every
 * (≤ 50 s), well inside one poll interval.
 */
export function leaseTiming(intervalSec: number): LeaseTiming {
  const ttlMs = Math.min(30_000, Math.max(5_000, intervalSec * 500));
  return { ttlMs, everyMs: Math.floor(ttlMs / 3) };
}

/**
 * Pure: compares versions as semver orders them: dotted numbers ("0.10.0" >
 * "0.9.1", a missing part counts as 0), then a pre-release below its
 * release ("1.2.0-rc1" < "1.2.0"); build metadata (+…) is ignored.
 */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core = "", pre] = v.split("+")[0]!.split(/-(.*)/s);
    return { nums: core.split(".").map((x) => Number.parseInt(x, 10) || 0), pre: pre ?? null };
  };
  const pa = split(a);
  const pb = split(b);
  for (let i = 0; i < Math.max(pa.nums.length, pb.nums.length); i++) {
    const d = (pa.nums[i] ?? 0) - (pb.nums[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (pa.pre === pb.pre) return 0;
  if (pa.pre === null) return 1;
  if (pb.pre === null) return -1;
  return pa.pre < pb.pre ? -1 : 1;
}

export type LeaseHold = { held: true; fence: number; acquired: boolean } | { held: false; holder: string };

// KEYS: lease hash, fence counter. ARGV: holder, ttl ms, lowest acceptable fence.
// Renews the caller's own lease; otherwise takes a free one with a new token,
// never below the store's last token (a flushed Redis restarts its counter).
const HOLD = `
local h = redis.call('HGET', KEYS[1], 'holder')
if h == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, redis.call('HGET', KEYS[1], 'fence'), 0}
end
if h then return {0, h, 0} end
local f = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if f <= floor then
  f = floor + 1
  redis.call('SET', KEYS[2], f)
end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'fence', f)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, tostring(f), 1}
`;

const RELEASE = `
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Renew the lease if `holder` has it, else take it if free. */
export async function holdLease(
  redis: Redis,
  keys: { lease: string; fence: string },
  holder: string,
  ttlMs: number,
  minFence: number,
): Promise<LeaseHold> {
  const [ok, value, fresh] = (await redis.eval(HOLD, 2, keys.lease, keys.fence, holder, String(ttlMs), String(minFence))) as [number, string, number];
  return ok === 1 ? { held: true, fence: Number(value), acquired: fresh === 1 } : { held: false, holder: value };
}

/** Give the lease up (only if `holder` still has it), so another orchestrator takes it at once. */
export async function releaseLease(redis: Redis, lease: string, holder: string): Promise<boolean> {
  return ((await redis.eval(RELEASE, 1, lease, holder)) as number) === 1;
}
