import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { describeTestProgsBuilds } from "../../domain/describe-test-progs.ts";
import type { TestProgsBuild } from "../../domain/results.ts";
import { keepTestProgs, takeCachedTestProgs, testProgsCacheKey } from "./test-progs-cache.ts";

const key = (over: Partial<Parameters<typeof testProgsCacheKey>[0]> = {}) =>
  testProgsCacheKey({ commit: "a".repeat(40), tests: ["tcp_rtt", "pb_smoke"], btfSha256: "b".repeat(64), compiler: "Debian clang version 14.0.6", ...over });

test("testProgsCacheKey: the test order does not matter; the commit, a test, the BTF and the compiler do", () => {
  assert.equal(key(), key({ tests: ["pb_smoke", "tcp_rtt"] }));
  const others = [key({ commit: "c".repeat(40) }), key({ tests: ["tcp_rtt"] }), key({ btfSha256: "d".repeat(64) }), key({ compiler: "Debian clang version 16" })];
  assert.equal(new Set([key(), ...others]).size, 5);
});

test("a kept build is copied into a later flow's folder, marked as reused; a broken one is dropped", () => {
  const root = mkdtempSync(join(tmpdir(), "pb-tp-cache-"));
  try {
    const first = join(root, "flow-1", "test_progs-candidate");
    mkdirSync(first, { recursive: true });
    writeFileSync(join(first, "test_progs"), "ELF", { mode: 0o755 });
    writeFileSync(join(first, "pb_smoke.bpf.o"), "BPF");
    const built: TestProgsBuild = { label: "candidate", dir: first, present: ["pb_smoke"], problem: null, seconds: 19.4 };
    const k = key();
    assert.equal(takeCachedTestProgs({ artifactsRoot: root, key: k, dir: join(root, "flow-2", "test_progs-candidate"), label: "candidate" }), null);
    keepTestProgs({ artifactsRoot: root, key: k, flowId: "flow-1", build: built });
    // A failed build is never kept.
    keepTestProgs({ artifactsRoot: root, key: key({ commit: "e".repeat(40) }), flowId: "flow-1", build: { ...built, dir: null, problem: "test_progs does not build: x" } });
    assert.equal(existsSync(join(root, `test-progs-${key({ commit: "e".repeat(40) })}`)), false);

    const dir = join(root, "flow-2", "test_progs-candidate");
    const again = takeCachedTestProgs({ artifactsRoot: root, key: k, dir, label: "candidate" });
    assert.deepEqual({ ...again, reused: { ...again!.reused, builtAt: "t" } }, { label: "candidate", dir, present: ["pb_smoke"], problem: null, seconds: 0, reused: { flowId: "flow-1", builtAt: "t", seconds: 19.4 } });
    assert.equal(readFileSync(join(dir, "pb_smoke.bpf.o"), "utf8"), "BPF");
    assert.equal(statSync(join(dir, "test_progs")).mode & 0o111, 0o111, "still executable");
    assert.match(
      describeTestProgsBuilds({ selections: [{ filter: "pb_smoke", test: "pb_smoke", from: "series" }], notRun: [], btfFrom: "x", base: { ...built, label: "base", dir: null, present: [] }, candidate: again }),
      /^test_progs with the flow's 1 test\(s\): 1 for candidate \(kept from flow flow-1, no build\); none of them in base's tree; vmlinux.h from x$/,
    );

    // A kept folder that lost its binary is removed, not used.
    rmSync(join(root, `test-progs-${k}`, "files", "test_progs"));
    assert.equal(takeCachedTestProgs({ artifactsRoot: root, key: k, dir: join(root, "flow-3", "t"), label: "candidate" }), null);
    assert.equal(existsSync(join(root, `test-progs-${k}`)), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
