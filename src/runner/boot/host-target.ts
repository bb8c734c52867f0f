import type { BootRun } from "../../domain/results.ts";
import { type Exec, ExecError, exec as defaultExec } from "../../lib/exec.ts";
import { type BootRequest, type BootTarget, GUEST_PROBES } from "./boot-target.ts";
import { consoleTail, parseConsole } from "./parse-console.ts";

/** The runner's own kernel: nothing is built or booted; the probe runs in place. */
export function createHostTarget(deps: { exec?: Exec } = {}): BootTarget {
  const exec = deps.exec ?? defaultExec;
  return {
    kind: "host",
    async run(req: BootRequest): Promise<BootRun> {
      const started = Date.now();
      const base = { target: "host" as const, kernel: "running" as const };
      if (req.kernel !== null) {
        return { ...base, outcome: "error", reason: "the host target cannot boot another kernel; use qemu or ssh", durationMs: 0, consoleTail: "", probes: [] };
      }
      let text = "";
      let timedOut = false;
      try {
        const r = await exec([req.probe], { timeoutMs: req.timeoutMs, okCodes: "any", ...(req.signal ? { signal: req.signal } : {}) });
        text = `${r.stdout}${r.stderr}`;
      } catch (e) {
        if (!(e instanceof ExecError)) throw e;
        timedOut = e.result.timedOut;
        text = `${e.result.stdout}${e.result.stderr}\n${e.message}`;
      }
      const c = parseConsole(text, { suite: "guest-probe", timedOut, expected: GUEST_PROBES });
      return { ...base, outcome: c.outcome, reason: c.reason, durationMs: Date.now() - started, consoleTail: consoleTail(text), probes: c.probes };
    },
  };
}
