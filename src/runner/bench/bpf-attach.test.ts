import assert from "node:assert/strict";
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { clangBpfArgv, findCgroup2Mount, inCgroupArgv } from "./bpf-attach.ts";
import { parseRetransSegs } from "./tcp-retransmits.ts";

test("findCgroup2Mount reads the cgroup2 line of /proc/mounts (hybrid layout and pure v2)", () => {
  const hybrid = [
    "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0",
    "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0",
    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0",
  ].join("\n");
  assert.equal(findCgroup2Mount(hybrid), "/sys/fs/cgroup/unified");
  assert.equal(findCgroup2Mount("cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n"), "/sys/fs/cgroup");
  assert.equal(findCgroup2Mount("cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n"), null);
});

test("inCgroupArgv passes the path and the command as arguments to a constant script", () => {
  const argv = inCgroupArgv({ path: "/cg/pb-1-abcd-cg", name: "pb-1-abcd-cg" }, ["netperf", "-H", "127.0.0.1; rm -rf /"]);
  assert.equal(argv[0], "sh");
  assert.equal(argv[2], 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"');
  assert.deepEqual(argv.slice(3), ["sh", "/cg/pb-1-abcd-cg", "netperf", "-H", "127.0.0.1; rm -rf /"]);
  assert.deepEqual(inCgroupArgv(null, ["netperf"]), ["netperf"]);
});

test("clangBpfArgv: defines are checked names and digits only", () => {
  assert.deepEqual(clangBpfArgv("/t/a.c", "/t/a.o", { DELAY_NS: "20000" }).slice(-5), ["-DDELAY_NS=20000", "-c", "/t/a.c", "-o", "/t/a.o"]);
  assert.throws(() => clangBpfArgv("/t/a.c", "/t/a.o", { DELAY_NS: "1;x" }), /bad define/);
});

test("parseRetransSegs reads Tcp: RetransSegs from /proc/net/snmp", () => {
  const snmp = [
    "Ip: Forwarding DefaultTTL InReceives",
    "Ip: 1 64 100",
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors",
    "Tcp: 1 200 120000 -1 4 2 0 0 1 4461 4466 7 0 1 0",
    "Udp: InDatagrams NoPorts",
    "Udp: 0 0",
  ].join("\n");
  assert.equal(parseRetransSegs(snmp), 7);
  assert.equal(parseRetransSegs("Ip: a\nIp: 1\n"), null);
  // This machine's own counter parses (Linux always has the Tcp: lines).
  const real = parseRetransSegs(readFileSync("/proc/net/snmp", "utf8"));
  assert.ok(real !== null && Number.isInteger(real) && real >= 0, `RetransSegs ${real}`);
});
