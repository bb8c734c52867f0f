import type { Cell } from "../../domain/bench.ts";
import type { Logger } from "../../lib/logger.ts";
import type { RunOutcome } from "../bench/side-session.ts";
import { withCurrentBoot } from "./current-boot.ts";
import type { FreshBootSession } from "./fresh-boot-per-round.ts";
import type { GuestSideSession, SwitchStats } from "./guest-side-session.ts";

/** The one kernel that is up: shared by every side of a job in `bootEvery: side`. */
export interface OneKernelSlot {
  up: { readonly name: string; shutDown(): Promise<void> } | null;
}

export function oneKernelSlot(): OneKernelSlot {
  return { up: null };
}

/** Shut down whichever side's kernel is up (before another kernel boots). */
export async function freeSlot(slot: OneKernelSlot): Promise<void> {
  await slot.up?.shutDown();
}

/**
 * A guest side of a target that holds one kernel at a time (`bench.bootEvery: side`): when
 * the scheduler enters this side while another side's kernel is up, that kernel is shut down
 * and this side's kernel is booted again through `reopen`; entering the side that is already
 * up only resumes it. Every change of side is a boot, as it is on a bare-metal box that
 * switches kernels, so the boot is the unit of replication and no two kernels ever share
 * the runner's CPUs or memory.
 */
export function bootPerSide(first: GuestSideSession, reopen: () => Promise<GuestSideSession>, slot: OneKernelSlot, log: Logger): FreshBootSession {
  let cur = first;
  let down = false;
  const bootsMs: number[] = [first.guest.bootMs];
  const closed: SwitchStats = { pauses: [], resumes: [] };
  const problems: string[] = [];

  const self = withCurrentBoot(() => cur, {
    get bootsMs() {
      return bootsMs;
    },
    get switches(): SwitchStats {
      const now = down ? { pauses: [], resumes: [] } : cur.switches;
      return { pauses: [...closed.pauses, ...now.pauses], resumes: [...closed.resumes, ...now.resumes] };
    },
    async shutDown() {
      if (down) return;
      down = true;
      if (slot.up === self) slot.up = null;
      closed.pauses.push(...cur.switches.pauses);
      closed.resumes.push(...cur.switches.resumes);
      problems.push(...(await cur.close()));
    },
    async enter(signal?: AbortSignal, round?: number) {
      if (slot.up !== self) {
        await freeSlot(slot);
        if (down) {
          cur = await reopen();
          down = false;
          bootsMs.push(cur.guest.bootMs);
          log.debug({ side: cur.name, round, bootMs: cur.guest.bootMs }, "side's kernel booted for its turn");
        }
        slot.up = self;
      }
      await cur.enter(signal, round);
    },
    leave: () => cur.leave(),
    measure: (cell: Cell, seconds: number, signal?: AbortSignal): Promise<RunOutcome> => cur.measure(cell, seconds, signal),
    async close() {
      const out = [...problems.splice(0), ...(down ? [] : await cur.close())];
      down = true;
      if (slot.up === self) slot.up = null;
      return [...new Set(out)];
    },
  });
  slot.up = self;
  return self;
}
