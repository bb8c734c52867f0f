import type { Cell } from "../../domain/bench.ts";
import type { Logger } from "../../lib/logger.ts";
import type { RunOutcome } from "../bench/side-session.ts";
import { withCurrentBoot } from "./current-boot.ts";
import type { GuestSideSession, SwitchStats } from "./guest-side-session.ts";

/** How long a failed agent call may take to show up as QEMU's exit. */
const DEATH_GRACE_MS = 2000;

async function diedSince(s: GuestSideSession): Promise<boolean> {
  for (let waited = 0; waited < DEATH_GRACE_MS; waited += 100) {
    if (!s.guest.alive()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !s.guest.alive();
}

/**
 * A guest side that survives one death of its kernel: when the guest is found dead while
 * entering or measuring, its session is closed, the same kernel is booted again through
 * `reopen` (topologies, settings and netserver set up anew), and the run in hand comes back
 * failed with `rebooted` set, so the scheduler sets aside what the dead boot measured in that
 * pair (or round) and measures it again. A second death is an error as before.
 */
export function rebootOnce(first: GuestSideSession, reopen: () => Promise<GuestSideSession>, log: Logger): GuestSideSession {
  let cur = first;
  let dead: GuestSideSession | null = null;
  const problems: string[] = [];

  const reboot = async (): Promise<string> => {
    const d = cur.guest.death();
    const reason = d ? d.reason : "its agent stopped answering";
    const tail = d?.consoleTail ? d.consoleTail.split("\n").slice(-5).join(" | ") : "";
    problems.push(...(await cur.close()));
    dead = cur;
    log.warn({ side: cur.name, reason }, "guest died; booting it again once");
    cur = await reopen();
    const words = `the ${cur.name} guest died (${reason}${tail ? `; console: ${tail}` : ""}) and was booted again in ${(cur.guest.bootMs / 1000).toFixed(1)} s`;
    problems.push(words);
    return words;
  };
  const canReboot = async () => dead === null && (await diedSince(cur));

  return withCurrentBoot(() => cur, {
    get switches(): SwitchStats {
      return dead ? { pauses: [...dead.switches.pauses, ...cur.switches.pauses], resumes: [...dead.switches.resumes, ...cur.switches.resumes] } : cur.switches;
    },
    async enter(signal?: AbortSignal, round?: number) {
      try {
        await cur.enter(signal, round);
      } catch (err) {
        if (!(await canReboot())) throw err;
        await reboot();
        await cur.enter(signal, round);
      }
    },
    leave: () => cur.leave(),
    async measure(cell: Cell, seconds: number, signal?: AbortSignal): Promise<RunOutcome> {
      const startedAt = new Date().toISOString();
      try {
        return await cur.measure(cell, seconds, signal);
      } catch (err) {
        if (signal?.aborted || !(await canReboot())) throw err;
        const words = await reboot();
        await cur.enter(signal);
        return { startedAt, endedAt: new Date().toISOString(), values: {}, throughput: 0, ok: false, problem: words, rebooted: words };
      }
    },
    async close() {
      // The driver and the stage both close; the problems are told once.
      const out = [...problems.splice(0), ...(await cur.close())];
      return [...new Set(out)];
    },
  });
}
