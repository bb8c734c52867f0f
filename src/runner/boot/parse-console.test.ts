import assert from "node:assert/strict";
import { test } from "node:test";
import { GUEST_PROBES } from "./boot-target.ts";
import { parseConsole } from "./parse-console.ts";
import { fillPlaceholders, remoteCommand } from "./ssh-connection.ts";
import { qemuArgv } from "./qemu-target.ts";

const opts = { suite: "guest-probe", timedOut: false, expected: GUEST_PROBES };
const OK = [
  "[    0.000000] Linux version 6.1.192 (patchbench@patchbench)",
  "PATCHBENCH-INIT",
  "PATCHBENCH-KERNEL 6.1.192 #1 Wed Jan 1 00:00:00 UTC 2025",
  'PATCHBENCH-PROBE {"name":"tcp-loopback-round-trip","status":"pass","detail":"ok","durationMs":3.1}',
  'PATCHBENCH-PROBE {"name":"so-busy-poll-setsockopt","status":"pass","detail":"ok","durationMs":0.1}',
  "PATCHBENCH-DONE",
  "[    2.400000] reboot: Restarting system",
].join("\r\n");

test("a finished probe is ok with both results and the guest's kernel", () => {
  const r = parseConsole(OK, opts);
  assert.equal(r.outcome, "ok");
  assert.equal(r.kernel, "6.1.192 #1 Wed Jan 1 00:00:00 UTC 2025");
  assert.deepEqual(r.probes.map((p) => p.status), ["pass", "pass"]);
});

test("a panic wins over anything else and names its reason; an oops is reported as such", () => {
  const panic = parseConsole("[ 0.9] Kernel panic - not syncing: No working init found.  Try passing init= option to kernel.\n", opts);
  assert.equal(panic.outcome, "panic");
  assert.match(panic.reason, /No working init found/);
  assert.deepEqual(panic.probes.map((p) => p.status), ["error", "error"]);
  assert.equal(parseConsole(`${OK}\n[ 3.1] BUG: kernel NULL pointer dereference, address: 0000000000000008\n`, opts).outcome, "oops");
});

test("output cut before DONE: timeout when the deadline hit, no-boot otherwise", () => {
  const cut = OK.split("\r\n").slice(0, 4).join("\n");
  assert.equal(parseConsole(cut, { ...opts, timedOut: true }).outcome, "timeout");
  assert.equal(parseConsole("", { ...opts, timedOut: true }).reason, "no sign of the probe before the deadline (kernel hung or never booted)");
  assert.equal(parseConsole(cut, opts).outcome, "no-boot");
});

test("remote commands keep argv boundaries through the remote shell", () => {
  assert.equal(remoteCommand(["kexec", "-l", "/var/tmp/k", "--append=console=ttyS0 quiet"]), "kexec -l /var/tmp/k '--append=console=ttyS0 quiet'");
  assert.equal(remoteCommand(["echo", "it's; rm -rf /"]), "echo 'it'\\''s; rm -rf /'");
  assert.deepEqual(fillPlaceholders(["kexec", "-l", "{kernel}"], { kernel: "/r/bzImage", probe: "/r/p" }), ["kexec", "-l", "/r/bzImage"]);
});

test("qemu argv: serial on stdio, exits on reboot, TCG without -cpu host", () => {
  const argv = qemuArgv({ binary: "qemu-system-x86_64", memoryMb: 256, cpus: 1, kvm: "auto", append: "" }, "/k", "/i", "tcg");
  assert.deepEqual(argv.slice(argv.indexOf("-accel"), argv.indexOf("-accel") + 2), ["-accel", "tcg"]);
  assert.ok(argv.includes("-no-reboot"));
  assert.ok(!argv.includes("host"));
  assert.equal(argv.at(-1), "console=ttyS0 panic=-1 rdinit=/init");
});
