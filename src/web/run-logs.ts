import type { TypedStageResult } from "../domain/stage-result-schema.ts";

/** A log a run page offers: the build stage's kernel builds and the consoles of the kernels it booted. */
export interface RunLog {
  /** File name, from a closed set (build-base.log, console-candidate.log, …): never a path a request gives. */
  name: string;
  title: string;
  text: string;
}

/** The names runLogsOf gives; a request for anything else is not looked up at all. */
export const RUN_LOG_NAME = /^(build|console)-(base|candidate|running)(-[2-9])?\.log$/;

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
      });
    }
  }
  return logs;
}
