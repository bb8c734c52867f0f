import { isArtifactLogName } from "../domain/artifact-log-names.ts";
import type { TypedStageResult } from "../domain/stage-result-schema.ts";
import type { RunView } from "./web-view-schemas.ts";

/** A log a run page offers: the build stage's kernel builds and the consoles of the kernels it booted. */
export interface RunLog {
  /** File name, from a closed set (build-base.log, console-candidate.log, …): never a path a request gives. */
  name: string;
  title: string;
  /** The last lines the runner sent back, after a line naming where the whole file is. */
  text: string;
  /** The artifact file on the runner that holds the whole log; null: none does (a boot written over by the next). */
  file: string | null;
  /** The last lines as the whole file ends with them (consoles): a file that does not end so was written by another boot. */
  tail: string | null;
  runner: string;
}

/** The stored names runLogsOf gives. */
export const RUN_LOG_NAME = /^(build|console)-(base|candidate|running)(-[2-9])?\.log$/;

/** A name a log request may carry: a stored log's or an artifact log file's; anything else is not looked up at all. */
export function isRunLogName(name: string): boolean {
  return RUN_LOG_NAME.test(name) || isArtifactLogName(name);
}

/**
 * Pure: the logs stored with a flow's build stage. What travels back from a runner is the tail of
 * each (the build's last lines, the serial console's); the whole files stay on the runner, at the
 * path each log's first line names.
 */
export function runLogsOf(results: readonly TypedStageResult[]): RunLog[] {
  const logs: RunLog[] = [];
  for (const r of results) {
    if (r.stage !== "build" || !r.data) continue;
    for (const [label, b] of [["base", r.data.base], ["candidate", r.data.candidate]] as const) {
      if (!b) continue;
      const from = b.reused ? `reused from flow ${b.reused.flowId} (built ${b.reused.builtAt})` : `built in ${(b.durationMs / 1000).toFixed(1)} s`;
      logs.push({
        name: `build-${label}.log`,
        title: `build of the ${label} kernel`,
        text: `# ${label} kernel at ${b.commit}: ${b.ok ? from : "build failed"}; the last lines of its build log (the whole log: ${b.logPath} on runner ${r.runner})\n${b.logTail}\n`,
        file: `build-${label}.log`,
        tail: null,
        runner: r.runner,
      });
    }
    const seen = new Map<string, number>();
    for (const boot of r.data.boots) {
      const n = (seen.get(boot.kernel) ?? 0) + 1;
      seen.set(boot.kernel, n);
      if (n > 9) continue;
      logs.push({
        name: `console-${boot.kernel}${n > 1 ? `-${n}` : ""}.log`,
        title: `console of the ${boot.kernel} kernel on ${boot.target}${n > 1 ? ` (boot ${n})` : ""}`,
        text: `# ${boot.kernel} kernel on ${boot.target}: ${boot.outcome}${boot.reason ? ` (${boot.reason})` : ""}, ${(boot.durationMs / 1000).toFixed(1)} s; the last lines of its console (runner ${r.runner})\n${boot.consoleTail}\n`,
        // A second boot of the same kernel wrote over the first one's file.
        file: n > 1 ? null : `${boot.target === "ssh" ? "ssh" : "console"}-${boot.kernel}.log`,
        tail: boot.consoleTail,
        runner: r.runner,
      });
    }
  }
  return logs;
}

/**
 * Pure: the bench guests' boots whose consoles stay on the bench stage's runner, when none of them
 * is among the logs this host has (a dashboard on another host, or the artifacts removed).
 */
export function benchConsolesElsewhere(results: readonly TypedStageResult[], logs: RunView["logs"]): RunView["benchConsoles"] {
  const bench = results.find((r) => r.stage === "bench");
  const sides = bench?.stage === "bench" ? bench.data?.kernels?.sides : undefined;
  if (!bench || !sides || sides.length === 0 || logs.some((l) => l.name.startsWith("console-bench-"))) return null;
  return { runner: bench.runner, boots: sides.reduce((n, s) => n + (s.boots ?? 1), 0) };
}

/** A log file in the flow's artifacts on this host. */
export interface LogFileHere {
  name: string;
  bytes: number;
}

/** What a log file found only on the host (no stored tail of it) is, from its name. */
export function logFileTitle(name: string): string {
  const bench = /^console-bench-(.+)-([0-9]+)\.log$/.exec(name);
  if (bench) return `console of the bench side ${bench[1]}'s guest, boot ${bench[2]}`;
  const self = /^(console|qemu)-kselftests-(.+)\.log$/.exec(name);
  if (self) return self[1] === "qemu" ? `QEMU's messages for the ${self[2]} selftests guest` : `console of the ${self[2]} selftests guest`;
  const m = /^(build|console|qemu|ssh)-(.+)\.log$/.exec(name);
  const what = { build: "build of", console: "console of", qemu: "QEMU's messages for", ssh: "ssh session of" }[m?.[1] as "build"] ?? "log of";
  return `${what} ${m?.[2] ?? name}`;
}

/**
 * Pure: the run page's list of logs. A stored log whose whole file is on this host (`whole` names
 * them, the caller having checked each file is that log's) is offered whole, at its size; the
 * others as their stored last lines, saying which runner keeps the whole file. Then every other
 * log file of the flow on this host (each bench guest boot's console, the selftest guests'), whole.
 */
export function runLogEntries(stored: readonly RunLog[], files: readonly LogFileHere[], whole: ReadonlySet<string>, apiBase: string): RunView["logs"] {
  const size = new Map(files.map((f) => [f.name, f.bytes]));
  const taken = new Set(stored.flatMap((l) => [l.name, ...(l.file ? [l.file] : [])]));
  const entry = (name: string, title: string, bytes: number, runner: string | null) => ({ name, title, bytes, url: `${apiBase}/logs/${name}`, whole: runner === null, runner });
  return [
    ...stored.map((l) => {
      const bytes = l.file && whole.has(l.name) ? size.get(l.file) : undefined;
      return bytes !== undefined ? entry(l.name, l.title, bytes, null) : entry(l.name, l.title, new TextEncoder().encode(l.text).length, l.runner);
    }),
    ...files
      .filter((f) => !taken.has(f.name))
      .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }))
      .map((f) => entry(f.name, logFileTitle(f.name), f.bytes, null)),
  ];
}
