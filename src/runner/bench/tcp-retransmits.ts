import { readFileSync } from "node:fs";
import { type Exec, exec as defaultExec } from "../../lib/exec.ts";

/**
 * TCP retransmitted segments of a network namespace (`Tcp: … RetransSegs` in
 * /proc/net/snmp, the counter `nstat` shows as TcpRetransSegs). Loopback and
 * our veth pairs never drop a packet, so a retransmit during a run means the
 * run measured timers, not the stack: the run is flagged.
 */

/** Pure: RetransSegs from /proc/net/snmp text, or null when absent. */
export function parseRetransSegs(snmp: string): number | null {
  const lines = snmp.split("\n").filter((l) => l.startsWith("Tcp:"));
  const head = lines[0]?.trim().split(/\s+/);
  const vals = lines[1]?.trim().split(/\s+/);
  if (!head || !vals) return null;
  const i = head.indexOf("RetransSegs");
  if (i < 0 || vals[i] === undefined) return null;
  const n = Number(vals[i]);
  return Number.isFinite(n) ? n : null;
}

/** Counter of the host (netns null) or one of our namespaces; null when unreadable. */
export async function readRetransSegs(netns: string | null, deps: { exec?: Exec } = {}): Promise<number | null> {
  if (netns === null) {
    try {
      return parseRetransSegs(readFileSync("/proc/net/snmp", "utf8"));
    } catch {
      return null;
    }
  }
  const run = deps.exec ?? defaultExec;
  const r = await run(["ip", "netns", "exec", netns, "cat", "/proc/net/snmp"], { okCodes: "any", timeoutMs: 10_000 });
  return r.code === 0 ? parseRetransSegs(r.stdout) : null;
}

/**
 * Pure: does a run's retransmit count disqualify it? A few retransmits (tail
 * loss probes under CPU contention, or other traffic on the host counter for
 * loopback) do not change a result; a run where more than 0.1% of its
 * segments were retransmitted measured timers, not the stack. Segments are
 * estimated from the run itself: transactions for request/response tests,
 * MSS-sized segments for TCP_STREAM.
 */
export function retransmitProblem(
  retrans: number,
  run: { test: string; throughput: number; seconds: number; topology: string },
): string | null {
  if (retrans <= 0) return null;
  const segments =
    run.test === "TCP_STREAM"
      ? (run.throughput * 1e6 * run.seconds) / 8 / 1448
      : run.throughput * run.seconds * 2;
  const limit = Math.max(3, Number.isFinite(segments) ? segments * 0.001 : 3);
  if (retrans <= limit) return null;
  return `${retrans} TCP retransmits on ${run.topology} during the run (over ${Math.floor(limit)}, 0.1% of ~${Math.round(segments)} segments)${run.topology === "loopback" ? " (host counter; other loopback traffic counts too)" : run.topology === "remote" ? " (the runner's counter; its other traffic counts too)" : ""}`;
}
