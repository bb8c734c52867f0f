
import type { SuiteTest } from "../../domain/results.ts";
import { type Exec, exec as defaultExec } from "../../lib/exec.ts";
import { parseProbeOutput } from "./parse-probe-output.ts";
import { projectFile } from "../../lib/project-root.ts";

export const HOST_PROBES = ["tcp-loopback-round-trip", "so-busy-poll-setsockopt"] as const;
const SCRIPT = projectFile("src/runner/probes/host-probe.py");

/** Run the host-kernel probes on the runner's own kernel. */
export async function runHostProbes(opts: { exec?: Exec; signal?: AbortSignal } = {}): Promise<SuiteTest[]> {
  const exec = opts.exec ?? defaultExec;
  try {
    const r = await exec(["python3", SCRIPT, ...HOST_PROBES], {
      timeoutMs: 60_000,
      okCodes: "any",
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return parseProbeOutput("host-probes", r.stdout, HOST_PROBES);
  } catch (e) {
    return HOST_PROBES.map((name) => ({
      suite: "host-probes",
      name,
      status: "error" as const,
      detail: `probe could not run: ${(e as Error).message}`,
      durationMs: 0,
    }));
  }
}
