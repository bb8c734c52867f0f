import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findCgroup2Mount } from "./find-cgroup2-mount.ts";
import { classifySockopsOutput, runSockopsProbe } from "./run-sockops-probe.ts";

test("the cgroup2 mount is read from /proc/mounts, hybrid or unified", () => {
  const hybrid = "tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n";
  assert.equal(findCgroup2Mount(hybrid), "/sys/fs/cgroup/unified");
  assert.equal(findCgroup2Mount("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"), "/sys/fs/cgroup");
  assert.equal(findCgroup2Mount("cgroup2 /mnt/my\\040cg cgroup2 rw 0 0\n"), "/mnt/my cg");
  assert.equal(findCgroup2Mount("proc /proc proc rw 0 0\n"), null);
});

test("-EINVAL is 'unsupported on this kernel' (skip), 0 is pass, a broken control is error", () => {
  assert.equal(classifySockopsOutput('{"busyPoll":-22,"keepalive":0,"ran":1}', 1).status, "skip");
  assert.equal(classifySockopsOutput('{"busyPoll":0,"keepalive":0,"ran":1}', 1).status, "pass");
  assert.equal(classifySockopsOutput('{"busyPoll":-1,"keepalive":0,"ran":1}', 1).status, "fail");
  assert.equal(classifySockopsOutput('{"busyPoll":0,"keepalive":-22,"ran":1}', 1).status, "error");
  assert.equal(classifySockopsOutput('{"busyPoll":0,"keepalive":0,"ran":0}', 1).status, "error");
  assert.equal(classifySockopsOutput('{"error":"load (verifier): Permission denied"}', 1).status, "error");
  assert.equal(classifySockopsOutput("Segmentation fault", 1).status, "error");
});

test("on this machine's stock kernel bpf_setsockopt(SO_BUSY_POLL) from sock_ops is -EINVAL (FACTS.md); the child cgroup is removed", async () => {
  const cache = mkdtempSync(join(tmpdir(), "pb-sockops-"));
  try {
    const r = await runSockopsProbe({ cacheDir: cache });
    assert.equal(r.status, "skip", r.detail);
    assert.match(r.detail, /-EINVAL \(control SO_KEEPALIVE = 0\)/);
    const mount = findCgroup2Mount(readFileSync("/proc/mounts", "utf8"))!;
    assert.deepEqual(readdirSync(mount).filter((n) => n.startsWith(`patchbench-probe-${process.pid}-`)), []);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
