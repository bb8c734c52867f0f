import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../lib/logger.ts";
import { orchestratorsKey, sourceFenceKey, sourceLeaseKey } from "../queue/job-ids.ts";
import { compareVersions, holdLease, leaseTiming, releaseLease } from "../queue/source-lease.ts";
import { getFence } from "../store/cursor-repository.ts";
import type { Db } from "../store/open-store.ts";

/** One orchestrator as the others see it. */
export interface OrchestratorPresence {
  id: string;
  version: string;
  host: string;
  pid: number;
  seenAt: number;
  /** How long after seenAt it still counts as alive (three of its own announcement periods). */
  liveMs: number;
}

/** Entries silent this long are removed by whoever looks next. */
const FORGET_AFTER_MS = 86_400_000;

/**
 * Pure: the newest orchestrator newer than `version` among those still alive
 * (seen within their own `liveMs`), if any. An older orchestrator gives its
 * sources to it: two versions must not follow the same list with different rules.
 */
export function newerOrchestrator(all: readonly OrchestratorPresence[], version: string, nowMs: number): OrchestratorPresence | null {
  let best: OrchestratorPresence | null = null;
  for (const o of all) {
    if (!(nowMs - o.seenAt <= o.liveMs) || compareVersions(o.version, version) <= 0) continue;
    if (!best || compareVersions(o.version, best.version) > 0) best = o;
  }
  return best;
}

export interface SourceLeases {
  readonly id: string;
  /** The fencing token while this orchestrator holds the source's lease (and it has not run out), else null. */
  fence(label: string): number | null;
  /** `cb` runs each time this orchestrator takes a source's lease. */
  onAcquired(cb: (label: string) => void): void;
  /** Stop renewing and give every held lease up, so another orchestrator takes them at once. */
  close(): Promise<void>;
}

interface Held {
  fence: number;
  validUntil: number;
}

/**
 * The lease keeper of `patchbench start`: every few seconds it announces this
 * orchestrator, steps back when a newer version runs, renews the leases it
 * holds and tries to take the free ones. Resolves after the first round, so
 * the poll loop knows from its first tick which sources are its own.
 */
export async function startSourceLeases(deps: {
  redis: Redis;
  prefix: string;
  db: Db;
  log: Logger;
  sources: readonly { label: string; intervalSec: number }[];
  version: string;
  now?: () => number;
}): Promise<SourceLeases> {
  const { redis, prefix, db, log, version } = deps;
  const now = deps.now ?? Date.now;
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const sources = deps.sources.map((s) => ({ label: s.label, timing: leaseTiming(s.intervalSec) }));
  const everyMs = Math.min(...sources.map((s) => s.timing.everyMs), 10_000);
  const held = new Map<string, Held>();
  const lastHolder = new Map<string, string>();
  const storeFence = new Map<string, number>();
  const listeners: ((label: string) => void)[] = [];
  let retiredBy: string | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> = Promise.resolve();

  const keys = (label: string) => ({ lease: sourceLeaseKey(prefix, label), fence: sourceFenceKey(prefix, label) });

  const giveUpAll = async (): Promise<void> => {
    for (const label of [...held.keys()]) {
      held.delete(label);
      await releaseLease(redis, keys(label).lease, id).catch(() => false);
    }
  };

  const announce = async (): Promise<void> => {
    // Redis's clock, not this host's: orchestrators on several hosts compare the same time.
    const [sec, usec] = deps.now ? [Math.floor(now() / 1000), (now() % 1000) * 1000] : (await redis.time()).map(Number);
    const clock = sec! * 1000 + Math.floor(usec! / 1000);
    const me: OrchestratorPresence = { id, version, host: hostname(), pid: process.pid, seenAt: clock, liveMs: 3 * everyMs };
    await redis.hset(orchestratorsKey(prefix), id, JSON.stringify(me));
    const all: OrchestratorPresence[] = [];
    for (const [field, json] of Object.entries(await redis.hgetall(orchestratorsKey(prefix)))) {
      try {
        const o = JSON.parse(json) as OrchestratorPresence;
        if (clock - o.seenAt > FORGET_AFTER_MS) await redis.hdel(orchestratorsKey(prefix), field);
        else all.push(o);
      } catch {
        await redis.hdel(orchestratorsKey(prefix), field);
      }
    }
    const newer = newerOrchestrator(all, version, clock);
    if (newer && !retiredBy) {
      retiredBy = newer.id;
      log.warn(
        { orchestrator: id, version, newer: { id: newer.id, version: newer.version, host: newer.host } },
        `a newer patchbench (${newer.version}) runs against this Redis: this one (${version}) stops polling mail sources and leaves them to it; upgrade or stop this one`,
      );
      await giveUpAll();
    } else if (!newer && retiredBy) {
      log.info({ orchestrator: id, version }, "no newer patchbench runs against this Redis any more: taking mail sources again");
      retiredBy = null;
    }
  };

  // The store's token, read with a short deadline: a slow or absent store must
  // not hold up the renewals (the last value read stands in for it).
  const lastStoreFence = async (label: string): Promise<number> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), 1000);
    });
    const read = getFence(db, label).then(
      (f) => {
        storeFence.set(label, f);
        return f;
      },
      () => undefined,
    );
    const f = await Promise.race([read, late]);
    clearTimeout(timer);
    return f ?? storeFence.get(label) ?? 0;
  };

  const tryHold = async (label: string, ttlMs: number): Promise<void> => {
    const startedAt = now();
    const mine = held.get(label);
    // A new token never goes below the store's last one, nor below the one this
    // orchestrator holds: Redis may have lost the lease and its counter (a restart
    // without persistence, FLUSHALL, a failover) while the store kept the token.
    const minFence = Math.max(mine?.fence ?? 0, await lastStoreFence(label));
    const r = await holdLease(redis, keys(label), id, ttlMs, minFence);
    if (r.held) {
      held.set(label, { fence: r.fence, validUntil: startedAt + ttlMs });
      if (r.acquired && mine) log.warn({ source: label, orchestrator: id, fence: r.fence }, "Redis had lost the lease of a mail source: taken again with a newer token");
      else if (r.acquired) {
        log.info({ source: label, orchestrator: id, fence: r.fence }, "took the lease of a mail source: polling it");
        for (const cb of listeners) cb(label);
      }
      return;
    }
    if (held.delete(label)) log.warn({ source: label, orchestrator: id, holder: r.holder }, "lost the lease of a mail source to another orchestrator");
    else if (lastHolder.get(label) !== r.holder) log.info({ source: label, orchestrator: id, holder: r.holder }, "mail source polled by another orchestrator");
    lastHolder.set(label, r.holder);
  };

  const round = async (): Promise<void> => {
    try {
      await announce();
    } catch (e) {
      log.warn({ err: e, orchestrator: id }, "could not announce this orchestrator; leases run out unless Redis answers again");
      return;
    }
    if (retiredBy) return;
    // Renewals first: trying to take free sources may wait on the store.
    for (const s of [...sources].sort((a, b) => Number(held.has(b.label)) - Number(held.has(a.label)))) {
      if (stopped) return;
      try {
        await tryHold(s.label, s.timing.ttlMs);
      } catch (e) {
        log.warn({ err: e, source: s.label }, "could not renew the lease of a mail source; polling stops when it runs out");
      }
    }
  };

  const loop = (): void => {
    timer = setTimeout(() => {
      timer = null;
      current = round().finally(() => {
        if (!stopped) loop();
      });
    }, everyMs);
  };

  await round();
  loop();
  let closing: Promise<void> | null = null;
  return {
    id,
    fence(label) {
      const h = held.get(label);
      return h && !retiredBy && now() < h.validUntil ? h.fence : null;
    },
    onAcquired(cb) {
      listeners.push(cb);
    },
    close() {
      closing ??= (async () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        await current;
        await giveUpAll();
        await redis.hdel(orchestratorsKey(prefix), id).catch(() => 0);
      })();
      return closing;
    },
  };
}
