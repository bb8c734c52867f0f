import type { BootRun } from "./results.ts";
import type { Status } from "./status.ts";

/**
 * Pure: each boot's status as the build stage judges it, in the order of `boots`. A probe that
 * fails on the candidate but not on the base is the series' failure; one that fails on both is the
 * tree's state; a base kernel's failed probe is a warning. A candidate that panics where the base
 * came up is the series' failure; any other boot that did not come up is infrastructure's.
 */
export function judgeBoots(boots: readonly BootRun[]): Status[] {
  const base = boots.find((b) => b.kernel === "base");
  return boots.map((b) => {
    if (b.outcome === "ok") {
      const failed = b.probes.filter((p) => p.status === "fail" || p.status === "error");
      const alsoOnBase = (n: string) => b.kernel === "candidate" && base?.probes.find((p) => p.name === n)?.status === "fail";
      return failed.some((p) => !alsoOnBase(p.name)) ? (b.kernel === "base" ? "warn" : "fail") : "pass";
    }
    const mine = b.kernel === "candidate" && base?.outcome === "ok" && (b.outcome === "panic" || b.outcome === "oops");
    return mine ? "fail" : "error";
  });
}
