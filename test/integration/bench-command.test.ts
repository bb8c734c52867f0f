/**
 * `patchbench bench` as a user runs it (a separate process): bad input is
 * refused before anything is touched, with the reason; a missing netperf is an
 * infrastructure error; a real run with a sock_ops program on a child cgroup
 * and a netperf socket option completes and leaves no cgroup or pinned program
 * behind; BPF leftovers of a dead run are removed. Real netperf, bpftool, clang.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { exec } from "../../src/lib/exec.ts";
import { buildSockopsBusyPollObject, cleanupStaleBpf, findCgroup2Mount } from "../../src/runner/bench/bpf-attach.ts";
import { runCli } from "../helpers/run-cli.ts";

let dir = "";
let bpfSkip: string | false = false;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "pb-bench-cli-"));
  const tools = await Promise.all(["bpftool", "clang"].map((t) => exec([t, "--version"], { okCodes: "any" }).catch(() => null)));
  if (tools.some((r) => r?.code !== 0)) bpfSkip = "bpftool or clang missing (apt-get install bpftool clang)";
  else if (!findCgroup2Mount(readFileSync("/proc/mounts", "utf8"))) bpfSkip = "no cgroup v2 mount";
});
after(() => rmSync(dir, { recursive: true, force: true }));

const base = (...more: string[]) => ["--data-dir", join(dir, "data"), "bench", ...more];

test("bad input is refused before anything runs, each with its reason", async () => {
  const cases: [string[], RegExp][] = [
    [base("--variant", "none", "--variant", "busy_read=50", "--tests", "SCTP_RR"), /unknown test "SCTP_RR"/],
    [base("--variant", "none", "--variant", "busy_read=50", "--sizes", "1,0", "--topologies", "loopback"), /size 0 of TCP_RR\/loopback must be an integer in 1\.\.1048576 bytes/],
    [base("--variant", "none", "--variant", "busy_read=50", "--topologies", "moon"), /unknown topology "moon"/],
    [base("--variant", "none", "--variant", "kernel.panic=1"), /sysctl "kernel\.panic" is not allowed/],
    [base("--variant", "none"), /--variant is needed exactly twice/],
    [base("--variant", "none", "--variant", "x:tc-bpf=/nonexistent/d.o"), /BPF object\(s\) not found: \/nonexistent\/d\.o/],
    [
      base("--variant", "none", "--variant", "busy_read=50", "--matrix", "default", "--runs", "3", "--duration", "10", "--budget", "600"),
      /matrix too large: 10 cells × 2 variants × 6 rounds × 3 runs × 10 s ≈ \d+ s, over the budget of 600 s/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 65, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stdout, "", "no table for a refused plan");
  }
  // Nothing was changed on the way: no journal left behind.
  assert.equal(existsSync(join(dir, "data", "sysctl-journal.json")), false);
});

test("a missing netperf is an infrastructure error, not an empty table", async () => {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  for (const t of ["ip", "sh", "cat", "nproc", "uname"]) {
    for (const d of ["/usr/sbin", "/usr/bin", "/bin", "/sbin"]) {
      if (existsSync(join(d, t)) && !existsSync(join(bin, t))) symlinkSync(join(d, t), join(bin, t));
    }
  }
  const r = await runCli(base("--variant", "none", "--variant", "busy_read=50", "--matrix", "small", "--topologies", "loopback", "--rounds", "2", "--runs", "1", "--duration", "1"), {
    PATH: bin,
  });
  assert.equal(r.code, 69, r.stderr);
  assert.match(r.stderr, /netperf -V did not answer: is netperf installed\? \(Debian ships it in non-free\)/);
  assert.equal(r.stdout, "");
});

test("a sock_ops program on a child cgroup plus netperf -D: the run completes and leaves nothing behind", async (t) => {
  if (bpfSkip) return t.skip(bpfSkip);
  const obj = await buildSockopsBusyPollObject(50, dir);
  let pid = 0;
  const r = await runCli(
    base(
      "--variant",
      "none",
      "--variant",
      `bp:bpf-cgroup=${obj},nodelay`,
      "--tests",
      "TCP_RR",
      "--sizes",
      "1",
      "--topologies",
      "loopback",
      "--rounds",
      "2",
      "--runs",
      "1",
      "--duration",
      "1",
      "--json",
    ),
    {},
    (p) => {
      pid = p;
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    complete: boolean;
    samples: { ok: boolean; variant: string; throughput: number }[];
    plan: { variants: { name: string; settings: { kind: string }[] }[] };
    cells: { key: string; analysis: { verdict: string } }[];
  };
  assert.equal(out.complete, true);
  assert.equal(out.samples.length, 4);
  assert.ok(out.samples.every((s) => s.ok && s.throughput > 0));
  assert.deepEqual(out.plan.variants[1]?.settings.map((s) => s.kind), ["bpf-cgroup", "sockopt"]);
  assert.equal(out.cells.length, 1);
  const root = findCgroup2Mount(readFileSync("/proc/mounts", "utf8"))!;
  assert.deepEqual(readdirSync(root).filter((n) => n.startsWith(`pb-${pid}-`)), [], "cgroup removed");
  assert.deepEqual(readdirSync("/sys/fs/bpf").filter((n) => n.startsWith(`pb-${pid}-`)), [], "pin removed");
});

test("BPF leftovers of a dead run (cgroup with a program attached, pinned program) are removed on the next start", async (t) => {
  if (bpfSkip) return t.skip(bpfSkip);
  const obj = await buildSockopsBusyPollObject(50, dir);
  const root = findCgroup2Mount(readFileSync("/proc/mounts", "utf8"))!;
  // PID 4194304 is above pid_max's default ceiling: never alive.
  const name = "pbstale-4194304-abcd-cg";
  const cg = join(root, name);
  const pin = join("/sys/fs/bpf", `${name}-sockops`);
  mkdirSync(cg, { recursive: true });
  await exec(["bpftool", "prog", "load", obj, pin, "type", "sockops"]);
  await exec(["bpftool", "cgroup", "attach", cg, "sock_ops", "pinned", pin]);
  const shown = await exec(["bpftool", "cgroup", "show", cg]);
  assert.match(shown.stdout, /sock_ops/);
  const removed = await cleanupStaleBpf("pbstale");
  assert.deepEqual(removed.sort(), [cg, pin].sort());
  assert.equal(existsSync(cg), false);
  assert.equal(existsSync(pin), false);
});
