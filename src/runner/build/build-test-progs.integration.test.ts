import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createGit } from "../../lib/git.ts";
import { defaultSandbox } from "../../lib/sandbox.ts";
import { classifyTestProgsRun } from "../suites/test-progs/classify-run.ts";
import { parseTestProgsOutput } from "../suites/test-progs/parse-output.ts";
import { buildTestProgs, extractBtf } from "./build-test-progs.ts";
import { BPF_SELFTESTS_DIR } from "./plan-test-progs.ts";

// The real linux-6.1 tree (scripts/prepare-kernel-tree.sh), real git, the tree's own Makefile,
// Debian's clang, in the runner's sandbox (bubblewrap as the sandbox user).
const TREE = join(process.env.PATCHBENCH_CACHE ?? "/var/cache/patchbench", "linux-source-6.1");
const HOST_BTF = "/sys/kernel/btf/vmlinux";
const DATA = join(import.meta.dirname, "..", "..", "..", "test", "data", "test-progs");
const skip =
  process.geteuid?.() !== 0
    ? "needs root (the sandbox drops to its user)"
    : !existsSync(join(TREE, ".git"))
      ? "no kernel tree (scripts/prepare-kernel-tree.sh)"
      : !existsSync(HOST_BTF)
        ? "no /sys/kernel/btf/vmlinux here"
        : false;
const ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_AUTHOR_NAME: "Ada Hacker", GIT_AUTHOR_EMAIL: "ada@example.org", GIT_COMMITTER_NAME: "Ada Hacker", GIT_COMMITTER_EMAIL: "ada@example.org" };

// Under /work's project folder, not /tmp: the sandbox has its own /tmp.
let work: string;
let repo: string;
const commits: Record<string, string> = {};
before(() => {
  if (skip) return;
  mkdirSync(join(import.meta.dirname, "..", "..", "..", ".test-tmp"), { recursive: true });
  work = mkdtempSync(join(import.meta.dirname, "..", "..", "..", ".test-tmp", "test-progs-"));
  repo = join(work, "mirror");
  const g = (...a: string[]) => execFileSync("git", a, { cwd: repo, env: ENV, encoding: "utf8" }).trim();
  // A mirror like the runner's: commits made through the index, no 75,000-file checkout.
  execFileSync("git", ["clone", "-q", "--shared", "--no-checkout", "--branch", "base", TREE, repo], { env: ENV });
  g("read-tree", "HEAD");
  commits.base = g("rev-parse", "HEAD");
  const add = (path: string, file: string) => g("update-index", "--add", "--cacheinfo", `100644,${g("hash-object", "-w", file)},${BPF_SELFTESTS_DIR}/${path}`);
  // A series that adds a test_progs test with its BPF program.
  add("prog_tests/pb_smoke.c", join(DATA, "pb_smoke.prog_test.c"));
  add("progs/pb_smoke.c", join(DATA, "pb_smoke.prog.c"));
  g("commit", "-q", "-m", "selftests/bpf: pb_smoke");
  commits.smoke = g("rev-parse", "HEAD");
  // A series whose test does not compile.
  writeFileSync(join(work, "pb_broken.c"), "#include <test_progs.h>\nvoid test_pb_broken(void) { int x = ; }\n");
  add("prog_tests/pb_broken.c", join(work, "pb_broken.c"));
  g("commit", "-q", "-m", "selftests/bpf: pb_broken");
  commits.broken = g("rev-parse", "HEAD");
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const run = (dir: string, filter: string) => {
  try {
    return { code: 0, out: execFileSync(join(dir, "test_progs"), ["-t", filter], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
  } catch (e) {
    const x = e as { status: number; stdout: string };
    return { code: x.status, out: x.stdout };
  }
};

test("test_progs with only the flow's tests: built from the commit in the sandbox, runs them, says what each tree lacks", { skip, timeout: 900_000 }, async () => {
  const git = createGit();
  const sandbox = defaultSandbox([join(work, "data")]);
  const artifactsDir = join(work, "artifacts", "flow-1");
  const tests = ["tcp_rtt", "pb_smoke", "no_such_test"];
  const common = { repo, tests, btf: HOST_BTF, artifactsDir, git, sandbox, timeoutMs: 900_000 };

  const cand = await buildTestProgs({ ...common, label: "candidate", commit: commits.smoke! });
  assert.equal(cand.problem, null);
  assert.deepEqual([...cand.present].sort(), ["pb_smoke", "tcp_rtt"]);
  assert.equal(cand.dir, join(artifactsDir, "test_progs-candidate"));
  // Only what the kept tests need (and btf_data.bpf.o, which linking reads): not 500 objects.
  assert.deepEqual(readdirSync(cand.dir!).sort(), ["btf_data.bpf.o", "pb_smoke.bpf.o", "tcp_rtt.bpf.o", "test_progs"]);
  const listed = execFileSync(join(cand.dir!, "test_progs"), ["-l"], { encoding: "utf8" }).split("\n").filter(Boolean);
  assert.deepEqual(listed.sort(), ["pb_smoke", "tcp_rtt"]);

  // It runs here too (the runner's kernel): the failing subtest is named by the one classifier.
  const smoke = run(cand.dir!, "pb_smoke");
  const outcome = classifyTestProgsRun({ spawnError: null, exitCode: smoke.code, signal: null, output: parseTestProgsOutput(smoke.out) }, { test: "pb_smoke" });
  assert.equal(outcome.status, "fail", smoke.out);
  assert.equal(outcome.reason, "failed: pb_smoke/fails_on_purpose");
  assert.match(smoke.out, /#\d+\/1\s+pb_smoke\/prog_runs:OK/);

  // The base has no pb_smoke: built with what it has, and the missing test is not "present".
  const base = await buildTestProgs({ ...common, label: "base", commit: commits.base! });
  assert.equal(base.problem, null);
  assert.deepEqual(base.present, ["tcp_rtt"]);
  assert.ok(existsSync(join(artifactsDir, "test_progs-base.log")));

  // A test that does not compile: the compiler's words, nothing copied.
  const broken = await buildTestProgs({ ...common, tests: ["pb_broken"], label: "candidate", artifactsDir: join(work, "artifacts", "flow-2"), commit: commits.broken! });
  assert.equal(broken.dir, null);
  assert.match(broken.problem ?? "", /^test_progs does not build: .*pb_broken\.c:2:.*error/);

  // Nothing wanted that the tree has: no build at all.
  const none = await buildTestProgs({ ...common, tests: ["no_such_test"], label: "base", artifactsDir: join(work, "artifacts", "flow-3"), commit: commits.base! });
  assert.deepEqual(none, { ...none, dir: null, present: [], problem: null });
});

test("extractBtf: an ELF's .BTF section written out as raw BTF; one without, a raw BTF blob, a missing file: nothing", { skip }, () => {
  const obj = join(work, "with-btf.o");
  // clang -g on a BPF target emits .BTF; the host compiler's object has none.
  writeFileSync(join(work, "x.c"), "int x;\n");
  execFileSync("clang", ["-g", "-O2", "-target", "bpf", "-c", join(work, "x.c"), "-o", obj]);
  execFileSync("gcc", ["-c", join(work, "x.c"), "-o", join(work, "plain.o")]);
  const out = join(work, "x.btf");
  assert.equal(extractBtf(obj, out), true);
  // Raw BTF starts with its magic 0xeB9F (little-endian).
  assert.equal(readFileSync(out).readUInt16LE(0), 0xeb9f);
  assert.equal(extractBtf(join(work, "plain.o"), join(work, "p.btf")), false);
  assert.equal(extractBtf(HOST_BTF, join(work, "h.btf")), false);
  assert.equal(extractBtf(join(work, "missing"), join(work, "m.btf")), false);
  assert.equal(existsSync(join(work, "p.btf")), false);
});
