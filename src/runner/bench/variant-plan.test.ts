import assert from "node:assert/strict";
import { test } from "node:test";
import { describeVariant, parseVariantSpec, planVariant } from "./variant-plan.ts";

test("parseVariantSpec: sysctl shorthand, names, socket options, BPF objects, none", () => {
  assert.deepEqual(parseVariantSpec("busy_read=50"), {
    name: "busy_read=50",
    settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "50" }],
  });
  assert.deepEqual(parseVariantSpec("tuned:net.ipv4.tcp_autocorking=0,nodelay"), {
    name: "tuned",
    settings: [
      { kind: "sysctl", key: "net.ipv4.tcp_autocorking", value: "0" },
      { kind: "sockopt", option: "nodelay" },
    ],
  });
  assert.deepEqual(parseVariantSpec("bp:bpf-cgroup=/tmp/x/sockops.o:set_busy_poll").settings, [
    { kind: "bpf-cgroup", object: "/tmp/x/sockops.o", program: "set_busy_poll" },
  ]);
  assert.deepEqual(parseVariantSpec("slow:tc-bpf=/tmp/d.o@server").settings, [{ kind: "tc-bpf", object: "/tmp/d.o", section: "tc", side: "server" }]);
  assert.deepEqual(parseVariantSpec("none"), { name: "none", settings: [] });
  assert.equal(describeVariant(parseVariantSpec("none")), "no change");
  assert.match(describeVariant(parseVariantSpec("x:remote-buffer=65536,busy_poll=50")), /netperf remote-buffer=65536, sysctl net.core.busy_poll=50/);
});

test("parseVariantSpec and planVariant refuse what cannot run, before anything is touched", () => {
  assert.throws(() => parseVariantSpec("kernel.panic=1"), /not allowed/);
  assert.throws(() => parseVariantSpec("x:busy_read"), /is not key=value/);
  assert.throws(() => parseVariantSpec("x:local-buffer=lots"), /needs a size in bytes/);
  assert.throws(() => parseVariantSpec("x:bpf-cgroup=relative.o"), /absolute path to a \.o file/);
  assert.throws(() => parseVariantSpec("x:bpf-cgroup=/a/../etc/x.o"), /absolute path/);
  assert.throws(() => parseVariantSpec("x:tc-bpf=/a/b.o@middle"), /client or server/);
  assert.throws(() => parseVariantSpec(""), /empty/);
  assert.throws(() => planVariant({ name: "k", settings: [{ kind: "kernel", ref: "base" }] }), /kernel variants need a boot/);
  assert.throws(
    () => planVariant({ name: "two", settings: [{ kind: "sockopt", option: "nodelay" }, { kind: "sockopt", option: "nodelay" }] }),
    /given twice/,
  );
});

test("planVariant splits who applies what: sysctls, netperf test-specific args, BPF attachments", () => {
  const p = planVariant({
    name: "all",
    settings: [
      { kind: "sysctl", key: "net.core.busy_read", value: "50" },
      { kind: "sockopt", option: "nodelay" },
      { kind: "sockopt", option: "local-buffer", value: "131072" },
      { kind: "bpf-cgroup", object: "/o/s.o" },
      { kind: "tc-bpf", object: "/w/artifacts/f/bpf/t.bpf.o", section: "tc", side: "client", builtFrom: "tools/testing/selftests/bpf/progs/t.c" },
    ],
  });
  assert.deepEqual(p.sysctls, [{ key: "net.core.busy_read", value: "50" }]);
  assert.deepEqual(p.netperfArgs, ["-D", "-s", "131072,131072"]);
  assert.deepEqual(p.cgroupBpf, { object: "/o/s.o", program: null, label: "/o/s.o" });
  // A program built from the series keeps its object path for the runner, and its source for the report.
  assert.deepEqual(p.tcBpf, [{ object: "/w/artifacts/f/bpf/t.bpf.o", section: "tc", side: "client", label: "tools/testing/selftests/bpf/progs/t.c (built from the series)" }]);
});
