import type { Cell, Topology, Variant } from "../../domain/bench.ts";
import { infraError, inputError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import type { GuestProfile } from "../bench/describe-profile.ts";
import { sysctlPath } from "../bench/host-settings.ts";
import { PROFILE_SYSCTLS } from "../bench/machine-profile.ts";
import { measureNetperf } from "../bench/measure-netperf.ts";
import type { RunOutcome, SideSession } from "../bench/side-session.ts";
import { parseRetransSegs } from "../bench/tcp-retransmits.ts";
import { newRunId, setupTopology, type TopologyHandle } from "../bench/topology.ts";
import { planVariant } from "../bench/variant-plan.ts";
import { inCgroupArgv } from "../bench/bpf-attach.ts";
import type { Guest } from "./boot-guest.ts";
import { attachBpfInGuest } from "./guest-bpf.ts";

/** netserver's port inside a guest: the guest is ours alone, so the well-known port is free. */
const GUEST_NETSERVER_PORT = 12865;

export interface GuestSideOptions {
  /** The side's name in samples ("base", "candidate", or an arm's name). */
  variant: Variant;
  guest: Guest;
  topologies: readonly Topology[];
  /** netperf -T local,remote inside the guest; dropped when the guest has too few CPUs. */
  pinning: { local: number; remote: number } | null;
  guestCpus: number;
  log: Logger;
}

/** Switch costs measured on this side: QMP stop/cont round trips and the settle after it. */
export interface SwitchStats {
  pauses: number[];
  resumes: number[];
}

export type GuestSideSession = SideSession & {
  readonly switches: SwitchStats;
  readonly guest: Guest;
  readonly notes: string[];
  /** The guest's sysctls and cmdline as measured (after the side's settings). */
  readonly profile: GuestProfile;
};

/**
 * One side of a kernel A/B: a booted guest (base or candidate kernel) with
 * the side's settings applied once inside it. The guest is resumed while it
 * measures and paused while the other side does, so on a 2-vCPU runner the
 * two kernels never compete for CPUs; the netperf run and its gates are the
 * same code as on the host.
 */
export async function openGuestSide(o: GuestSideOptions): Promise<GuestSideSession> {
  const g = o.guest;
  const vp = planVariant({ name: o.variant.name, settings: o.variant.settings.filter((s) => s.kind !== "kernel") });
  const notes: string[] = [];
  const pinning = o.pinning && Math.max(o.pinning.local, o.pinning.remote) < o.guestCpus ? o.pinning : null;
  if (o.pinning && !pinning) notes.push(`netperf pinning -T ${o.pinning.local},${o.pinning.remote} is off inside the guest (${o.guestCpus} vCPU)`);
  const topo = new Map<Topology, TopologyHandle>();
  const deps = { exec: g.exec, log: o.log };
  const runId = newRunId();
  for (const t of o.topologies) {
    const h = await setupTopology(t, { prefix: "pb", runId }, deps);
    topo.set(t, h);
  }
  for (const s of vp.sysctls) {
    await g.writeFile(sysctlPath(s.key), s.value);
    for (const h of topo.values()) {
      for (const ns of h.namespaces) await g.exec(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", `${s.key}=${s.value}`], { okCodes: "any", timeoutMs: 30_000 });
    }
  }
  const bpf = await attachBpfInGuest(g, vp, topo);
  notes.push(...bpf.notes);
  const inCgroup = (argv: string[]) => inCgroupArgv(bpf.cgroup, argv);
  const profile = await readGuestProfile(o.variant.name, g);
  const restarts = new Map<Topology, number>();
  const startServer = async (h: TopologyHandle) => {
    // Without -D netserver daemonizes; the guest is thrown away after the job, so nothing leaks.
    const argv = [...(h.serverNs ? ["ip", "netns", "exec", h.serverNs] : []), "netserver", "-L", `${h.serverAddr},inet`, "-p", String(GUEST_NETSERVER_PORT)];
    const r = await g.exec(inCgroup(argv), { okCodes: "any", timeoutMs: 60_000 });
    if (r.code !== 0) throw infraError(`netserver did not start in the ${g.label} guest: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
  };
  for (const h of topo.values()) await startServer(h);
  const readRetransmits = async (ns: string | null): Promise<number | null> => {
    try {
      if (ns === null) return parseRetransSegs(await g.readFile("/proc/net/snmp"));
      const r = await g.exec(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"], { okCodes: "any", timeoutMs: 10_000 });
      return r.code === 0 ? parseRetransSegs(r.stdout) : null;
    } catch {
      return null;
    }
  };
  const switches: SwitchStats = { pauses: [], resumes: [] };
  let paused = false;
  const describe = `${o.variant.name} kernel ${g.kernelRelease} ${g.accel ? `under QEMU ${g.accel}` : `on ${g.where}`}${vp.sysctls.length ? `, ${vp.sysctls.map((s) => `${s.key}=${s.value}`).join(", ")}` : ""}${vp.netperfArgs.length ? `, netperf ${vp.netperfArgs.join(" ")}` : ""}${vp.cgroupBpf ? `, sock_ops ${vp.cgroupBpf.label}` : ""}${vp.tcBpf.map((t) => `, tc-bpf ${t.label}:${t.section}@${t.side}`).join("")}`;
  // A fresh guest starts paused: the other side may measure first.
  switches.pauses.push(await g.pause());
  paused = true;
  return {
    name: o.variant.name,
    describe,
    switches,
    guest: g,
    notes,
    profile,
    async enter() {
      if (!g.alive()) throw guestGone(g);
      if (paused) {
        switches.resumes.push(await g.resume());
        paused = false;
      }
    },
    async leave() {
      if (!g.alive() || paused) return [];
      switches.pauses.push(await g.pause());
      paused = true;
      return [];
    },
    async measure(cell: Cell, seconds: number, signal?: AbortSignal): Promise<RunOutcome> {
      if (!g.alive()) throw guestGone(g);
      const h = topo.get(cell.topology);
      if (!h) throw inputError(`topology ${cell.topology} was not set up in the ${g.label} guest`);
      const out = await measureNetperf(
        {
          cell,
          seconds,
          serverAddr: h.serverAddr,
          port: GUEST_NETSERVER_PORT,
          clientNs: h.clientNs,
          serverNs: h.serverNs,
          pinning,
          testArgs: vp.netperfArgs,
          ...(bpf.cgroup ? { wrapArgv: inCgroup } : {}),
          ...(signal ? { signal } : {}),
        },
        { exec: g.exec, readRetransmits },
      );
      if (!out.ok && /connect|establish control|refused/i.test(out.problem ?? "") && (restarts.get(cell.topology) ?? 0) === 0) {
        // netserver died inside the guest: start it again once and say so in the run's problem.
        restarts.set(cell.topology, 1);
        await startServer(h).catch(() => undefined);
        return { ...out, notes: [`netserver for ${cell.topology} restarted once in the ${g.label} guest (${out.problem})`] };
      }
      if (!g.alive()) throw guestGone(g);
      return out;
    },
    async close() {
      const problems: string[] = [];
      const d = g.death();
      if (d && d.outcome !== "no-boot") problems.push(`${g.label} guest: ${d.reason}`);
      await g.shutdown().catch((e: unknown) => problems.push(`${g.label} guest shutdown: ${(e as Error).message}`));
      return problems;
    },
  };
}

function guestGone(g: Guest): Error {
  const d = g.death();
  return infraError(`the ${g.label} guest (${g.kernelRelease}) is gone${d ? `: ${d.reason}` : ""}`);
}

/** The profile sysctls and /proc/cmdline read inside the guest; a sysctl the kernel lacks is null. */
async function readGuestProfile(side: string, g: Guest): Promise<GuestProfile> {
  const read = (path: string) => g.readFile(path).then((t) => t.trim().split(/\s+/).join(" "), () => null);
  const sysctls: Record<string, string | null> = {};
  for (const k of PROFILE_SYSCTLS) sysctls[k] = await read(sysctlPath(k));
  return { side, sysctls, cmdline: (await read("/proc/cmdline")) ?? "" };
}
