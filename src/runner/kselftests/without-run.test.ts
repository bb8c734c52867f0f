import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { TestProgsBuild } from "../../domain/results.ts";
import { classifyKselftest, NOT_PRESENT } from "./classify-kselftest.ts";
import { withoutRun } from "./run-selftests-in-kernels.ts";

const sel = { filter: "pb_smoke", test: "pb_smoke", from: "series" as const };
const build = (o: Partial<TestProgsBuild>): TestProgsBuild => ({ label: "candidate", dir: null, present: [], problem: null, seconds: 1, ...o });

test("withoutRun: the series' test_progs not compiling while the base's does is the series' failure; neither building, a deadline or no BTF is not", () => {
  const broken = build({ problem: "test_progs does not build: prog_tests/pb_smoke.c:7: error: expected expression" });
  assert.equal(withoutRun(broken, sel, true)?.status, "fail");
  assert.equal(withoutRun(broken, sel, false)?.status, "error");
  assert.equal(withoutRun(build({ problem: "test_progs does not build: over its 1800 s deadline" }), sel, true)?.status, "error");
  assert.equal(withoutRun(build({ problem: "no BTF for vmlinux.h: …" }), sel, true)?.status, "error");
  assert.equal(withoutRun({ ...broken, label: "base" }, sel, true)?.status, "error", "the base not building is never the series' fault");
  // Judged against a base where the test passes: the series' fault, with the compiler's words.
  const t = classifyKselftest("pb_smoke", { present: true, status: "pass", detail: "ok", failed: [] }, withoutRun(broken, sel, true)!, 0);
  assert.equal(t.status, "fail");
  assert.match(t.detail, /^fails with the series, passes on the base: test_progs does not build: .*pb_smoke\.c:7/);
});

test("withoutRun: a tree without BPF selftests skips, with the reason, on either side", () => {
  const none = build({ problem: "no tools/testing/selftests/bpf in this tree" });
  assert.deepEqual(withoutRun(none, sel, true), { present: true, status: "skip", detail: "no tools/testing/selftests/bpf in this tree", failed: [] });
  assert.equal(withoutRun({ ...none, label: "base" }, sel, true)?.status, "skip");
});

test("withoutRun: absent from the tree, or no binary for it → not present; a build on another runner → error; a build here → run it", () => {
  assert.equal(withoutRun(null, sel, true), NOT_PRESENT);
  assert.equal(withoutRun(build({ dir: "/nonexistent/test_progs-candidate", present: ["tcp_rtt"] }), sel, true), NOT_PRESENT);
  assert.match(withoutRun(build({ dir: "/nonexistent/test_progs-candidate", present: ["pb_smoke"] }), sel, true)?.detail ?? "", /built on another runner/);
  const dir = mkdtempSync(join(tmpdir(), "pb-wr-"));
  try {
    mkdirSync(join(dir, "t"));
    writeFileSync(join(dir, "t", "test_progs"), "");
    assert.equal(withoutRun(build({ dir: join(dir, "t"), present: ["pb_smoke"] }), sel, true), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
