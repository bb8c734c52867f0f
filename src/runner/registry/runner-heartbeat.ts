import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename } from "node:path";
import type { Redis } from "ioredis";
import type { Logger } from "../../lib/logger.ts";
import { runnersKey } from "../../queue/job-ids.ts";
import { collectMachineProfile, type MachineProfile } from "../bench/machine-profile.ts";
import { type RunnerProfile, type RunnerRecord, staleRunnerIds } from "./runner-record.ts";

/** Entries of runners silent this long are forgotten when a runner starts. */
const FORGET_AFTER_SEC = 7 * 86400;

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** The machine as the runner registers it: the bench profile (read here unless given) plus NUMA, memory and NICs with their drivers. */
export async function collectRunnerProfile(machine?: MachineProfile): Promise<RunnerProfile> {
  const p = machine ?? (await collectMachineProfile());
  const mem = /^MemTotal:\s+(\d+) kB$/m.exec(readText("/proc/meminfo"));
  const nics = listDir("/sys/class/net")
    .filter((n) => n !== "lo")
    .flatMap((name) => {
      // Virtual devices (veth, bridges) have no device link: only NICs are listed.
      let driver: string | null;
      try {
        driver = basename(readlinkSync(`/sys/class/net/${name}/device/driver`));
      } catch {
        return [];
      }
      return [{ name, driver }];
    });
  const steered = p.irqAffinity.total - p.irqAffinity.spreadOverAll;
  return {
    cpuModel: p.cpuModel,
    cpuCount: p.cpuCount,
    numaNodes: Math.max(1, listDir("/sys/devices/system/node").filter((d) => /^node\d+$/.test(d)).length),
    memoryMB: mem ? Math.round(Number(mem[1]) / 1024) : null,
    kernelRelease: p.kernelRelease,
    governor: p.governor,
    smt: p.smt,
    turbo: p.turbo,
    isolatedCpus: p.isolatedCpus,
    irqsSteered: `${steered}/${p.irqAffinity.total}`,
    isVirtual: p.isVirtual,
    nics,
    netperfVersion: p.netperfVersion,
  };
}

export interface Heartbeat {
  /** The job the runner started (null: it finished); written at once. */
  setJob(job: RunnerRecord["job"]): void;
  /** Last write: stopped, no job. */
  stop(): Promise<void>;
}

/**
 * Register a runner agent in Redis and keep its record fresh every
 * `heartbeatSec`. A write that fails is logged and retried at the next beat:
 * the registry is for people, the queue does not depend on it.
 */
export async function startHeartbeat(o: {
  redis: Redis;
  prefix: string;
  record: Omit<RunnerRecord, "heartbeatAt" | "job" | "state">;
  log: Logger;
}): Promise<Heartbeat> {
  const key = runnersKey(o.prefix);
  let job: RunnerRecord["job"] = null;
  let state: RunnerRecord["state"] = "running";
  const write = async () => {
    const record: RunnerRecord = { ...o.record, heartbeatAt: new Date().toISOString(), job, state };
    await o.redis.hset(key, o.record.id, JSON.stringify(record));
  };
  const writeLogged = () => {
    write().catch((e: unknown) => o.log.warn({ err: e }, "runner heartbeat not written"));
  };
  try {
    const stale = staleRunnerIds(await o.redis.hgetall(key), Date.now(), FORGET_AFTER_SEC);
    if (stale.length) await o.redis.hdel(key, ...stale);
    await write();
  } catch (e) {
    o.log.warn({ err: e }, "runner heartbeat not written");
  }
  const timer = setInterval(writeLogged, o.record.heartbeatSec * 1000);
  timer.unref();
  return {
    setJob(next) {
      job = next;
      writeLogged();
    },
    async stop() {
      clearInterval(timer);
      state = "stopped";
      job = null;
      await write().catch((e: unknown) => o.log.warn({ err: e }, "runner heartbeat not written at stop"));
    },
  };
}
