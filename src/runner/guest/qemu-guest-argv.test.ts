import assert from "node:assert/strict";
import { test } from "node:test";
import { bootSchema } from "../../config/schema.ts";
import { bootFaultOf, kernelOf, kernelVariants } from "../bench/kernel-sides.ts";
import { qemuGuestArgv } from "./qemu-guest-argv.ts";

const qemu = bootSchema.parse({}).qemu;
const base = { qemu, kernel: "/k/bzImage", init: "/p/guest-init.sh", consolePath: "/a/console.log", agentSocket: "/s/agent", qmpSocket: "/s/qmp" };

test("qemuGuestArgv: the runner's root read-only over 9p, console to a file, agent on virtio-serial, QMP, no NIC", () => {
  const argv = qemuGuestArgv({ ...base, accel: "tcg" });
  const append = argv[argv.indexOf("-append") + 1]!;
  assert.match(append, /root=\/dev\/root rootfstype=9p rootflags=trans=virtio,version=9p2000\.L/);
  assert.match(append, / ro init=\/bin\/sh -- \/p\/guest-init\.sh$/);
  assert.ok(argv.includes("local,id=root,path=/,security_model=none,readonly=on,multidevs=remap"));
  assert.ok(argv.includes("virtserialport,chardev=agent,name=patchbench.agent"));
  assert.ok(argv.includes("unix:/s/qmp,server=on,wait=off"));
  assert.ok(argv.includes("-nodefaults") && !argv.some((a) => a.startsWith("-nic") || a.includes("virtio-net")));
  assert.deepEqual(argv.slice(argv.indexOf("-accel"), argv.indexOf("-accel") + 2), ["-accel", "tcg"]);
  assert.ok(!argv.includes("host"), "no -cpu host under TCG");
  const kvm = qemuGuestArgv({ ...base, accel: "kvm", cpus: "1" });
  assert.deepEqual(kvm.slice(0, 3), ["taskset", "-c", "1"]);
  assert.ok(kvm.includes("-cpu") && kvm.includes("host"));
  const extra = qemuGuestArgv({ ...base, qemu: { ...qemu, append: "quiet" }, accel: "tcg" });
  assert.match(extra[extra.indexOf("-append") + 1]!, / quiet -- \/p\/guest-init\.sh$/, "the guest init stays last, after --");
  assert.ok(!argv.some((a) => a.includes("pbshare")), "no share unless asked");
  const shared = qemuGuestArgv({ ...base, accel: "tcg", shareDir: "/s/share" });
  assert.ok(shared.includes("local,id=share,path=/s/share,security_model=none,readonly=on,multidevs=remap"));
  assert.ok(shared.includes("virtio-9p-pci,fsdev=share,mount_tag=pbshare"));
});

test("kernel sides: the same settings on base and candidate; whose fault a boot failure is", () => {
  const [a, b] = kernelVariants([{ kind: "sysctl", key: "net.core.busy_read", value: "50" }, { kind: "kernel", ref: "candidate" }]);
  assert.deepEqual(a, { name: "base", settings: [{ kind: "kernel", ref: "base" }, { kind: "sysctl", key: "net.core.busy_read", value: "50" }] });
  assert.equal(kernelOf(b!), "candidate");
  assert.equal(kernelOf({ name: "x", settings: [] }), null);
  const f = (kernel: "base" | "candidate", outcome: "panic" | "timeout" | "error") => ({ kernel, outcome, reason: "", consoleTail: "" });
  assert.equal(bootFaultOf([f("candidate", "panic")]), true);
  assert.equal(bootFaultOf([f("candidate", "timeout")]), true);
  assert.equal(bootFaultOf([f("candidate", "error")]), false, "QEMU did not start: the runner's problem");
  assert.equal(bootFaultOf([f("base", "panic"), f("candidate", "panic")]), false, "both failing is infrastructure");
  assert.equal(bootFaultOf([f("base", "panic")]), false);
});

test("kernel sides with arms: the candidate kernel again, the arm's sysctl replacing the shared one of the same key", () => {
  const shared = [{ kind: "sysctl" as const, key: "net.core.busy_read", value: "0" }, { kind: "sysctl" as const, key: "net.core.busy_poll", value: "0" }];
  const sides = kernelVariants(shared, [{ name: "busy_read=50", settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "50" }] }]);
  assert.deepEqual(sides.map((v) => [v.name, kernelOf(v)]), [["base", "base"], ["candidate", "candidate"], ["busy_read=50", "candidate"]]);
  assert.deepEqual(sides[2]!.settings, [
    { kind: "kernel", ref: "candidate" },
    { kind: "sysctl", key: "net.core.busy_poll", value: "0" },
    { kind: "sysctl", key: "net.core.busy_read", value: "50" },
  ]);
  const f = (outcome: "panic" | "error") => ({ kernel: "candidate" as const, outcome, reason: "", consoleTail: "" });
  assert.equal(bootFaultOf([f("panic"), f("panic")]), true, "the candidate and its arm failing alone is the series'");
});
