import type { Redis } from "ioredis";
import type { BenchGate } from "../commands/handle-bench-request.ts";
import { benchRateKeys, benchRefusedKey } from "./job-ids.ts";

export interface BenchRateLimit {
  perSender: number;
  global: number;
  windowHours: number;
}

export interface BenchLimiter {
  /** true: the gate lets this one through (and it was counted). */
  consume(gate: BenchGate): Promise<boolean>;
}

/** A refusal is answered once per sender and place in this long. */
export const REFUSAL_TTL_SEC = 24 * 3600;

// Both counters are checked and counted in one step (a script runs atomically), so a
// request refused by the global limit does not use up its sender's budget.
const REQUEST_SCRIPT = `
local s = tonumber(redis.call('GET', KEYS[1]) or '0')
local g = tonumber(redis.call('GET', KEYS[2]) or '0')
if s >= tonumber(ARGV[1]) or g >= tonumber(ARGV[2]) then return 0 end
redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1`;

/**
 * /bench limits in Redis, shared by every process on one Redis (the GitHub
 * App and the mail poller): fixed-window counters per sender and overall,
 * and a one-per-day marker per refused sender and place. All keys expire.
 */
export function createBenchLimiter(redis: Redis, prefix: string, limits: BenchRateLimit, now: () => number = Date.now): BenchLimiter {
  const windowSec = Math.round(limits.windowHours * 3600);
  return {
    async consume(gate) {
      if (gate.kind === "refusal") {
        return (await redis.set(benchRefusedKey(prefix, gate.sender, gate.place), "1", "EX", REFUSAL_TTL_SEC, "NX")) === "OK";
      }
      const win = Math.floor(now() / 1000 / windowSec);
      const keys = benchRateKeys(prefix, String(win), gate.sender);
      const r = await redis.eval(REQUEST_SCRIPT, 2, keys.sender, keys.all, limits.perSender, limits.global, windowSec);
      return r === 1;
    },
  };
}
