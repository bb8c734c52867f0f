import assert from "node:assert/strict";
import { test } from "node:test";
import type { Topology } from "../../domain/bench.ts";
import type { Exec, ExecResult } from "../../lib/exec.ts";
import type { TopologyHandle } from "../bench/topology.ts";
import { attachBpfInGuest } from "./guest-bpf.ts";

const handle = (topology: Topology, veth: boolean): TopologyHandle => ({
  topology,
  runId: "r1",
  clientNs: veth ? "pb-r1-c" : null,
  serverNs: veth ? "pb-r1-s" : null,
  clientAddr: "10.0.0.1",
  serverAddr: "10.0.0.2",
  namespaces: veth ? ["pb-r1-c", "pb-r1-s"] : [],
  serverIf: veth ? "pbs0" : null,
  clientIf: veth ? "pbc0" : null,
});
const topo = new Map<Topology, TopologyHandle>([
  ["loopback", handle("loopback", false)],
  ["container", handle("container", true)],
]);

function recorder(fail: (argv: readonly string[]) => string | null = () => null) {
  const calls: { argv: string[]; input: string | null }[] = [];
  const exec: Exec = async (argv, opts = {}) => {
    calls.push({ argv: [...argv], input: opts.input === undefined ? null : Buffer.from(opts.input).toString() });
    const err = fail(argv);
    return { code: err ? 1 : 0, signal: null, stdout: "", stderr: err ?? "", stdoutBytes: Buffer.alloc(0), timedOut: false, durationMs: 1 } as ExecResult;
  };
  return { calls, exec };
}

test("attachBpfInGuest: objects are copied in through the agent, sock_ops on a cgroup, tc on every veth egress; loopback is named as not carrying it", async () => {
  const r = recorder();
  const files: Record<string, string> = { "/srv/o/sockops.o": "SOCKOPS-ELF", "/srv/o/delay.o": "TC-ELF" };
  const out = await attachBpfInGuest(
    { label: "candidate", exec: r.exec },
    {
      name: "arm1",
      cgroupBpf: { object: "/srv/o/sockops.o", program: null, label: "/srv/o/sockops.o" },
      // A program built from the series is named by its source, not by the object's long artifacts path.
      tcBpf: [{ object: "/srv/o/delay.o", section: "tc", side: "client", label: "tools/testing/selftests/bpf/progs/delay.c (built from the series)" }],
    },
    topo,
    (p) => Buffer.from(files[p]!),
  );
  assert.deepEqual(out.cgroup, { path: "/sys/fs/cgroup/pb-bench-cg", name: "pb-bench-cg" });
  assert.deepEqual(
    r.calls.map((c) => [c.argv.join(" "), c.input]),
    [
      ["dd of=/tmp/pb-bpf-0.o status=none", "SOCKOPS-ELF"],
      ["mkdir -p /sys/fs/cgroup/pb-bench-cg", null],
      ["bpftool prog load /tmp/pb-bpf-0.o /sys/fs/bpf/pb-bench-sockops type sockops", null],
      ["bpftool cgroup attach /sys/fs/cgroup/pb-bench-cg sock_ops pinned /sys/fs/bpf/pb-bench-sockops", null],
      ["dd of=/tmp/pb-bpf-1.o status=none", "TC-ELF"],
      ["ip netns exec pb-r1-c tc qdisc del dev pbc0 clsact", null],
      ["ip netns exec pb-r1-c tc qdisc add dev pbc0 clsact", null],
      ["ip netns exec pb-r1-c tc filter add dev pbc0 egress bpf da obj /tmp/pb-bpf-1.o sec tc", null],
    ],
  );
  assert.deepEqual(out.notes, [
    "arm1: sock_ops of /srv/o/sockops.o attached to a cgroup holding netserver and netperf, inside the guest",
    "arm1: tc-BPF tools/testing/selftests/bpf/progs/delay.c (built from the series) sec tc on the client veth egress, inside the guest (not on loopback: no veth there)",
  ]);
});

test("attachBpfInGuest: nothing to attach runs nothing; a refused load names the side, the object and bpftool's words", async () => {
  const none = recorder();
  assert.deepEqual(await attachBpfInGuest({ label: "base", exec: none.exec }, { name: "base", cgroupBpf: null, tcBpf: [] }, topo), { cgroup: null, notes: [] });
  assert.deepEqual(none.calls, []);
  const refused = recorder((argv) => (argv[1] === "prog" ? "libbpf: prog 'x': BPF program load failed: Invalid argument" : null));
  await assert.rejects(
    attachBpfInGuest({ label: "candidate", exec: refused.exec }, { name: "arm1", cgroupBpf: { object: "/srv/o/bad.o", program: null, label: "/srv/o/bad.o" }, tcBpf: [] }, topo, () => Buffer.from("x")),
    /side arm1: bpftool could not load \/srv\/o\/bad\.o in the candidate guest: libbpf: prog 'x': BPF program load failed: Invalid argument/,
  );
  await assert.rejects(
    attachBpfInGuest({ label: "candidate", exec: none.exec }, { name: "arm1", cgroupBpf: { object: "/nope.o", program: null, label: "/nope.o" }, tcBpf: [] }, topo, () => {
      throw new Error("ENOENT: no such file or directory, open '/nope.o'");
    }),
    /side arm1: cannot read BPF object \/nope\.o: ENOENT/,
  );
});
