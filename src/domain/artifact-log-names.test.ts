import assert from "node:assert/strict";
import { test } from "node:test";
import { benchConsoleName, isArtifactLogName } from "./artifact-log-names.ts";

test("artifact log names: what runners write is served, nothing else", () => {
  for (const ok of ["build-base.log", "build-candidate.log", "console-base.log", "ssh-running.log", "qemu-candidate.log", "console-kselftests-base.log", benchConsoleName("base", 1), benchConsoleName("busy_read=50+tc-bpf=prog", 12), "console-busy_poll=50.log"]) {
    assert.ok(isArtifactLogName(ok), ok);
  }
  for (const bad of ["../build-base.log", "build-base.log/..", "bzImage-base", "initramfs-base.cpio", "known_hosts", "extras.config", "build-other.log", "console-.log", "console-a/b.log", ".console-base.log", "console-base.log.gz", `console-${"x".repeat(41)}.log`, "console-base%2e.log", "build-base.log\0"]) {
    assert.ok(!isArtifactLogName(bad), bad);
  }
});
