import type { Redis } from "ioredis";
import type { BenchGate, GateVerdict } from "../commands/handle-bench-request.ts";
import { benchRateKeys, benchRefusalCapKeys, benchRefusedKey } from "./job-ids.ts";

export interface BenchRateLimit {
  perSender: number;
  global: number;
  windowHours: number;
  /** Refusal replies of everyone together per clock hour. */
  refusalsPerHour: number;
}

export interface BenchLimiter {
  /** true: the gate lets this one through (and it was counted); see GateVerdict for the rest. */
  consume(gate: BenchGate): Promise<GateVerdict>;
}

/** A refusal is answered once per sender and place in this long. */
export const REFUSAL_TTL_SEC = 24 * 3600;

/** The refusal cap's window: a clock hour. */
const REFUSAL_WINDOW_SEC = 3600;

// Both counters are checked and counted in one step (a script runs atomically), so a
// request refused by the global limit does not use up its sender's budget.
const REQUEST_SCRIPT = `
local s = tonumber(redis.call('GET', KEYS[1]) or '0')
local g = tonumber(redis.call('GET', KEYS[2]) or '0')
if s >= tonumber(ARGV[1]) or g >= tonumber(ARGV[2]) then return 0 end
redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1`;

// One step for a refusal: its sender's daily mark for the place, then the hour's count of
// everyone's refusals. A refusal held by the cap sets no daily mark (nothing was sent, so the
// sender may be answered in a later hour); the first one held in an hour says so (-1), once.
const REFUSAL_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = tonumber(redis.call('GET', KEYS[2]) or '0')
if n >= tonumber(ARGV[1]) then
  if redis.call('SET', KEYS[3], '1', 'EX', ARGV[3], 'NX') then return -1 end
  return -2
end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1`;

const REFUSAL_VERDICT: Record<number, GateVerdict> = { 1: true, 0: false, [-1]: "capped-first", [-2]: "capped" };

/**
 * /bench limits in Redis, shared by every process on one Redis (the GitHub
 * App and the mail poller): fixed-window counters per sender and overall,
 * a one-per-day marker per refused sender and place, and an hourly count of
 * everyone's refusals (many accounts × many PRs would otherwise each get
 * one). All keys expire.
 */
export function createBenchLimiter(redis: Redis, prefix: string, limits: BenchRateLimit, now: () => number = Date.now): BenchLimiter {
  const windowSec = Math.round(limits.windowHours * 3600);
  return {
    async consume(gate) {
      if (gate.kind === "refusal") {
        const hour = String(Math.floor(now() / 1000 / REFUSAL_WINDOW_SEC));
        const cap = benchRefusalCapKeys(prefix, hour);
        const marker = benchRefusedKey(prefix, gate.sender, gate.place);
        const r = await redis.eval(REFUSAL_SCRIPT, 3, marker, cap.count, cap.logged, limits.refusalsPerHour, REFUSAL_TTL_SEC, REFUSAL_WINDOW_SEC);
        const verdict = REFUSAL_VERDICT[Number(r)];
        if (verdict === undefined) throw new Error(`bench limiter: unexpected refusal script answer ${String(r)}`);
        return verdict;
      }
      const win = Math.floor(now() / 1000 / windowSec);
      const keys = benchRateKeys(prefix, String(win), gate.sender);
      const r = await redis.eval(REQUEST_SCRIPT, 2, keys.sender, keys.all, limits.perSender, limits.global, windowSec);
      return r === 1;
    },
  };
}
