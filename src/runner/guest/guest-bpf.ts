import { readFileSync } from "node:fs";
import type { Topology } from "../../domain/bench.ts";
import { infraError } from "../../lib/errors.ts";
import type { Exec } from "../../lib/exec.ts";
import { attachTcEgress, type BenchCgroup } from "../bench/bpf-attach.ts";
import type { TopologyHandle } from "../bench/topology.ts";
import type { VariantPlan } from "../bench/variant-plan.ts";

/** The part of a booted guest BPF attach needs: its agent's exec. */
export interface GuestExec {
  label: string;
  exec: Exec;
}

/** Where the guest keeps what we give it: its tmpfs, gone with the guest. */
const GUEST_DIR = "/tmp";
const GUEST_CGROUP = "/sys/fs/cgroup/pb-bench-cg";
const GUEST_PIN = "/sys/fs/bpf/pb-bench-sockops";

/**
 * A side's BPF settings inside its guest: each object is copied in through
 * the agent (the guest never reads the runner's paths), a sock_ops program is
 * loaded and attached to a child cgroup v2 that netserver and every netperf
 * join, and tc-BPF programs go on the egress of the namespace veths as on the
 * host. Nothing is detached: the guest is thrown away after the job.
 */
export async function attachBpfInGuest(
  g: GuestExec,
  vp: Pick<VariantPlan, "name" | "cgroupBpf" | "tcBpf">,
  topo: ReadonlyMap<Topology, TopologyHandle>,
  readObject: (path: string) => Buffer = (p) => readFileSync(p),
): Promise<{ cgroup: BenchCgroup | null; notes: string[] }> {
  const notes: string[] = [];
  let copies = 0;
  const copyIn = async (object: string): Promise<string> => {
    let bytes: Buffer;
    try {
      bytes = readObject(object);
    } catch (e) {
      throw infraError(`side ${vp.name}: cannot read BPF object ${object}: ${(e as Error).message}`);
    }
    const inGuest = `${GUEST_DIR}/pb-bpf-${copies++}.o`;
    await g.exec(["dd", `of=${inGuest}`, "status=none"], { input: bytes, timeoutMs: 60_000 });
    return inGuest;
  };
  const run = async (argv: string[], what: string) => {
    const r = await g.exec(argv, { okCodes: "any", timeoutMs: 30_000 });
    if (r.code !== 0) throw infraError(`side ${vp.name}: ${what} in the ${g.label} guest: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ")}`);
  };
  let cgroup: BenchCgroup | null = null;
  if (vp.cgroupBpf) {
    const obj = await copyIn(vp.cgroupBpf.object);
    await run(["mkdir", "-p", GUEST_CGROUP], "cannot create the bench cgroup");
    await run(["bpftool", "prog", "load", obj, GUEST_PIN, "type", "sockops"], `bpftool could not load ${vp.cgroupBpf.object}`);
    await run(["bpftool", "cgroup", "attach", GUEST_CGROUP, "sock_ops", "pinned", GUEST_PIN], `bpftool could not attach ${vp.cgroupBpf.object}`);
    cgroup = { path: GUEST_CGROUP, name: "pb-bench-cg" };
    notes.push(`${vp.name}: sock_ops of ${vp.cgroupBpf.label} attached to a cgroup holding netserver and netperf, inside the guest`);
  }
  for (const t of vp.tcBpf) {
    const obj = await copyIn(t.object);
    for (const h of topo.values()) {
      const ns = t.side === "client" ? h.clientNs : h.serverNs;
      const dev = t.side === "client" ? h.clientIf : h.serverIf;
      // Loopback has no veth: a tc program there would measure nothing, so say so.
      if (ns && dev) await attachTcEgress(ns, dev, obj, t.section, { exec: g.exec });
    }
    const without = [...topo.entries()].filter(([, h]) => !(t.side === "client" ? h.clientIf : h.serverIf)).map(([name]) => name);
    notes.push(`${vp.name}: tc-BPF ${t.label} sec ${t.section} on the ${t.side} veth egress, inside the guest${without.length ? ` (not on ${without.join(", ")}: no veth there)` : ""}`);
  }
  return { cgroup, notes };
}
