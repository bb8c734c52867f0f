import type { Cell } from "../../domain/bench.ts";
import type { Logger } from "../../lib/logger.ts";
import type { RunOutcome } from "../bench/side-session.ts";
import { withCurrentBoot } from "./current-boot.ts";
import type { GuestSideSession, SwitchStats } from "./guest-side-session.ts";

export type FreshBootSession = GuestSideSession & {
  /** Milliseconds each boot of this side took to reach its agent, in order. */
  readonly bootsMs: readonly number[];
};

/**
 * A guest side that boots its kernel afresh whenever the scheduler enters it for a new round:
 * the old guest is shut down and `reopen` boots the same kernel with the same settings. Two
 * boots of one kernel can differ by more than a small effect (memory placement, QEMU's own
 * state); with a boot per round that difference lands inside the within-pair noise the
 * verdicts already account for, instead of posing as the series' effect. The other sides are
 * paused (left) while this one boots, so boots never overlap a measurement.
 */
export function freshBootPerRound(first: GuestSideSession, reopen: () => Promise<GuestSideSession>, log: Logger): FreshBootSession {
  let cur = first;
  let bootRound: number | null = null;
  const bootsMs: number[] = [first.guest.bootMs];
  const closed: SwitchStats = { pauses: [], resumes: [] };
  const problems: string[] = [];

  return withCurrentBoot(() => cur, {
    get bootsMs() {
      return bootsMs;
    },
    get switches(): SwitchStats {
      return { pauses: [...closed.pauses, ...cur.switches.pauses], resumes: [...closed.resumes, ...cur.switches.resumes] };
    },
    async enter(signal?: AbortSignal, round?: number) {
      if (round !== undefined && bootRound !== null && round !== bootRound) {
        closed.pauses.push(...cur.switches.pauses);
        closed.resumes.push(...cur.switches.resumes);
        problems.push(...(await cur.close()));
        cur = await reopen();
        bootsMs.push(cur.guest.bootMs);
        log.debug({ side: cur.name, round, bootMs: cur.guest.bootMs }, "side booted afresh for its round");
      }
      if (round !== undefined) bootRound = round;
      await cur.enter(signal, round);
    },
    leave: () => cur.leave(),
    measure: (cell: Cell, seconds: number, signal?: AbortSignal): Promise<RunOutcome> => cur.measure(cell, seconds, signal),
    async close() {
      const out = [...problems.splice(0), ...(await cur.close())];
      return [...new Set(out)];
    },
  });
}
