import type { Cell } from "../../domain/bench.ts";
import type { Exec, ExecResult } from "../../lib/exec.ts";
import { buildNetperfArgv, keysForTest } from "./netperf-command.ts";
import { checkNetperfRun } from "./parse-netperf.ts";
import type { RunOutcome } from "./side-session.ts";
import { retransmitProblem } from "./tcp-retransmits.ts";

export interface NetperfRunRequest {
  cell: Cell;
  seconds: number;
  /** Where netserver listens and in which namespaces the two ends live (null = the kernel's own). */
  serverAddr: string;
  port: number;
  clientNs: string | null;
  serverNs: string | null;
  pinning: { local: number; remote: number } | null;
  /** netperf test-specific arguments (socket options). */
  testArgs?: readonly string[];
  /** Wraps the argv (e.g. to start netperf inside a cgroup). */
  wrapArgv?: (argv: string[]) => string[];
  signal?: AbortSignal;
}

export interface NetperfRunDeps {
  /** Runs the argv where this side lives: the host, or inside a guest. */
  exec: Exec;
  /** TCP RetransSegs of a namespace (null = the kernel's own), or null when unreadable. */
  readRetransmits: (netns: string | null) => Promise<number | null>;
  now?: () => Date;
  /** Says why netserver is gone, when it is (added to a failed run's problem). */
  serverDeath?: () => string | null;
}

export class RunAborted extends Error {}

/**
 * One netperf run and its quality gates (exit status, every requested key,
 * positive throughput, TCP retransmits around the run): the same on the host
 * and inside a guest, so both sides of a comparison are judged alike.
 */
export async function measureNetperf(req: NetperfRunRequest, deps: NetperfRunDeps): Promise<RunOutcome> {
  const now = deps.now ?? (() => new Date());
  const keys = keysForTest(req.cell.test);
  const argv = buildNetperfArgv({
    test: req.cell.test,
    size: req.cell.size,
    host: req.serverAddr,
    port: req.port,
    durationSec: req.seconds,
    pinning: req.pinning,
    netns: req.clientNs,
    keys,
    ...(req.testArgs ? { testArgs: [...req.testArgs] } : {}),
  });
  const counters = [...new Set([req.clientNs, req.serverNs])];
  const before = await Promise.all(counters.map((ns) => deps.readRetransmits(ns)));
  const startedAt = now().toISOString();
  let res: ExecResult;
  try {
    res = await deps.exec(req.wrapArgv ? req.wrapArgv(argv) : argv, {
      okCodes: "any",
      timeoutMs: (req.seconds + 20) * 1000,
      ...(req.signal ? { signal: req.signal } : {}),
    });
  } catch (err) {
    const r = (err as { result?: ExecResult }).result;
    if (req.signal?.aborted) throw new RunAborted("aborted");
    if (!r) throw err; // netperf missing, a guest gone: infrastructure
    res = r;
  }
  const endedAt = now().toISOString();
  const after = await Promise.all(counters.map((ns) => deps.readRetransmits(ns)));
  const check = checkNetperfRun({ code: res.code, signal: res.signal, timedOut: res.timedOut, stdout: res.stdout, stderr: res.stderr, requestedKeys: keys });
  let problem = check.problem;
  let ok = check.ok;
  const death = ok ? null : (deps.serverDeath?.() ?? null);
  if (death) problem = `${problem}; ${death}`;
  // Loopback and our veths never drop: more than a few retransmits mean the run measured timers.
  let retrans = 0;
  before.forEach((b, i) => {
    const a = after[i];
    if (b !== null && b !== undefined && a !== null && a !== undefined) retrans += a - b;
  });
  if (retrans > 0) check.output.values.RETRANSMITS = String(retrans);
  const retransProblem = ok ? retransmitProblem(retrans, { test: req.cell.test, throughput: check.output.throughput, seconds: req.seconds, topology: req.cell.topology }) : null;
  if (retransProblem) {
    ok = false;
    problem = retransProblem;
  }
  return { startedAt, endedAt, values: check.output.values, throughput: check.output.throughput, ok, ...(problem === undefined ? {} : { problem }) };
}
