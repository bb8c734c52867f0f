import { z } from "zod";
import type { BootOutcome, SuiteTest } from "../../domain/results.ts";

const probeLine = z.object({
  name: z.string(),
  status: z.enum(["pass", "fail", "skip"]),
  detail: z.string(),
  durationMs: z.number(),
});

export interface ConsoleReading {
  outcome: BootOutcome;
  reason: string;
  kernel: string | null;
  probes: SuiteTest[];
  done: boolean;
}

// The kernel's own words: kernel/panic.c, arch/x86/kernel/dumpstack.c, lib/bug.c.
const PANIC = /Kernel panic - not syncing: ?(.*)/;
const OOPS = /^(?:\[[ \d.]+\] )?(Oops: .*|BUG: .*|general protection fault.*|WARNING: CPU: .*)$/m;

/**
 * Pure: what a serial console (or a remote probe's output) says about a
 * boot. The probe prints "PATCHBENCH-PROBE {json}" lines and
 * "PATCHBENCH-DONE"; a panic or oops anywhere wins over probe results;
 * output that stops before DONE is a timeout (when the deadline hit) or a
 * boot that never reached the probe.
 */
export function parseConsole(text: string, opts: { suite: string; timedOut: boolean; expected: readonly string[] }): ConsoleReading {
  const probes: SuiteTest[] = [];
  let kernel: string | null = null;
  let done = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^.*?(PATCHBENCH-)/, "$1");
    if (line.startsWith("PATCHBENCH-KERNEL ")) kernel = line.slice(18).trim();
    if (line.trim() === "PATCHBENCH-DONE") done = true;
    if (!line.startsWith("PATCHBENCH-PROBE ")) continue;
    try {
      const r = probeLine.safeParse(JSON.parse(line.slice(17)));
      if (r.success) probes.push({ suite: opts.suite, ...r.data });
    } catch {
      /* a line cut by the console: reported as missing below */
    }
  }
  for (const name of opts.expected) {
    if (!probes.some((p) => p.name === name)) probes.push({ suite: opts.suite, name, status: "error", detail: "probe printed no result", durationMs: 0 });
  }
  const panic = PANIC.exec(text);
  if (panic) return { outcome: "panic", reason: `kernel panic: ${panic[1]?.trim() ?? ""}`.trim(), kernel, probes, done };
  const oops = OOPS.exec(text);
  if (oops) return { outcome: "oops", reason: `kernel reported: ${oops[1]}`, kernel, probes, done };
  if (done) return { outcome: "ok", reason: `probe finished on ${kernel ?? "an unknown kernel"}`, kernel, probes, done };
  if (opts.timedOut) {
    return {
      outcome: "timeout",
      reason: kernel ? "the probe started but did not finish before the deadline" : "no sign of the probe before the deadline (kernel hung or never booted)",
      kernel,
      probes,
      done,
    };
  }
  return { outcome: "no-boot", reason: kernel ? "the probe stopped before finishing" : "the machine stopped before the probe ran", kernel, probes, done };
}

/** The last lines of a console, bounded in size, for results and reports. */
export function consoleTail(text: string, lines = 40, maxChars = 4000): string {
  const tail = text.replace(/\r/g, "").split("\n").slice(-lines).join("\n");
  return tail.length > maxChars ? tail.slice(-maxChars) : tail;
}
