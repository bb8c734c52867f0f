import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildSchema } from "../../src/config/schema.ts";
import { git } from "../../src/lib/git.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { stageJobSchema } from "../../src/queue/payloads.ts";
import { applySeries } from "../../src/runner/apply/apply-series.ts";
import { createHostTarget } from "../../src/runner/boot/host-target.ts";
import { runBuildStage } from "../../src/runner/run-build-stage.ts";

/**
 * The build stage on a small tree with a real Makefile and real gcc (the
 * kernel tier is runner-kernel-e2e): new warnings against the base build,
 * a compile error, a hung build, a full disk (a real tmpfs) — each a result
 * with its reason and log tail, and the worktree removed every time. The
 * host boot target runs the real probe on the runner's own kernel.
 */
describe("build stage (real make, gcc, tmpfs)", () => {
  let dir: string;
  let up: string;
  const MAKEFILE = "tinyconfig olddefconfig defconfig:\n\techo CONFIG_X=y > .config\nbzImage:\n\tgcc -c -Wall -o net.o net.c\n\tmkdir -p arch/x86/boot && cp net.o arch/x86/boot/bzImage\n";
  const patchMail = async (file: string, content: string, subject: string) => {
    const work = join(dir, `p-${Math.random().toString(36).slice(2)}`);
    await git(["clone", "-q", up, work]);
    writeFileSync(join(work, file), content);
    await git(["commit", "-q", "-am", `${subject}\n\nSigned-off-by: patchbench <patchbench@localhost>`], { repo: work });
    const mail = (await git(["format-patch", "--stdout", "-1", "HEAD"], { repo: work })).stdout;
    rmSync(work, { recursive: true, force: true });
    return mail;
  };
  const run = async (name: string, mail: string, workDir: string, build: Record<string, unknown> = {}) => {
    const data = {
      flowId: `flow-${name}`,
      seriesId: name,
      stage: "apply",
      tree: { name: "mini", url: "unused", path: up, branch: "master", allowBinary: false, allowSymlinks: false },
      baseCommit: null,
      patches: [{ index: 1, subject: name, rawBase64: Buffer.from(mail).toString("base64") }],
      suites: [],
      bench: {},
      checks: [],
      build: buildSchema.parse({ ccache: false, selftestsConfig: false, guestConfig: false, ...build }),
    };
    const deps = { git, log: silentLogger(), workDir, runner: "t" };
    const applied = await applySeries(stageJobSchema.parse(data), deps);
    assert.ok(applied.data.head, applied.summary);
    const r = await runBuildStage(stageJobSchema.parse({ ...data, stage: "build" }), { ...deps, apply: applied.data, bootTarget: createHostTarget() });
    assert.deepEqual(readdirSync(join(workDir, "worktrees")), [], "worktree removed");
    return r;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-build-"));
    // make runs as the sandbox user, which must be able to reach the worktree (mkdtemp makes 0700).
    chmodSync(dir, 0o711);
    up = join(dir, "up");
    mkdirSync(up);
    writeFileSync(join(up, "Makefile"), MAKEFILE);
    writeFileSync(join(up, "net.c"), "int net(int a)\n{\n\treturn a + 1;\n}\n");
    await git(["init", "-q", "-b", "master", up]);
    await git(["add", "."], { repo: up });
    await git(["commit", "-q", "-m", "base"], { repo: up });
  });
  after(() => {
    try {
      execFileSync("umount", [join(dir, "full")], { stdio: "ignore" });
    } catch {
      /* not mounted */
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test("a warning the series adds is new; the base's own are not; the host target runs the probe", async () => {
    const mail = await patchMail("net.c", "int net(int a)\n{\n\tint unused;\n\treturn a + 1;\n}\n", "net: add a variable");
    const r = await run("warn", mail, join(dir, "w1"));
    assert.equal(r.status, "warn", r.summary);
    assert.deepEqual(r.data.newWarnings, [{ file: "net.c", line: 3, message: "unused variable 'unused'", flag: "-Wunused-variable" }]);
    assert.deepEqual(r.data.base?.warnings, []);
    assert.match(readFileSync(r.data.candidate!.logPath, "utf8"), /\$ make -j\d+ bzImage/);
    assert.deepEqual(r.data.boots.map((b) => [b.target, b.kernel, b.outcome]), [["host", "running", "ok"]]);
    assert.deepEqual(r.data.boots[0]?.probes.map((p) => p.status), ["pass", "pass"]);
  });

  test("a kept kernel: the same series again reuses both kernels (no make), another series on the same base reuses the base", async () => {
    const workDir = join(dir, "w6");
    const mail = await patchMail("net.c", "int net(int a)\n{\n\tint unused;\n\treturn a + 1;\n}\n", "net: add a variable");
    const first = await run("keep-1", mail, workDir);
    assert.match(first.summary, /^built base and candidate/);
    const again = await run("keep-2", mail, workDir);
    assert.equal(again.status, "warn", again.summary);
    assert.equal(again.data.candidate?.commit, first.data.candidate?.commit, "the same series on the same base is the same commit");
    assert.match(again.summary, /^reused the kept base and candidate of flow flow-keep-1 \(same commit, defconfig config and compiler\); /);
    assert.deepEqual(again.data.newWarnings, first.data.newWarnings, "warnings come back with the kernel");
    for (const k of [again.data.base!, again.data.candidate!]) {
      assert.equal(k.reused?.flowId, "flow-keep-1");
      assert.equal(k.image, join(workDir, "artifacts", "flow-keep-2", `bzImage-${k === again.data.base ? "base" : "candidate"}`));
      assert.match(readFileSync(k.logPath, "utf8"), /^kernel reused: /);
    }
    const other = await run("keep-3", await patchMail("net.c", "int net(int a)\n{\n\treturn a + 2;\n}\n", "net: add two"), workDir);
    assert.equal(other.status, "pass", other.summary);
    assert.equal(other.data.base?.reused?.flowId, "flow-keep-1");
    assert.equal(other.data.candidate?.reused, undefined);
    // Nothing of the base's build is in this worktree: the candidate is configured from scratch.
    assert.match(readFileSync(other.data.candidate!.logPath, "utf8"), /^\$ make defconfig$/m);
    assert.match(other.summary, /^reused the kept base of flow flow-keep-1 \(same commit, defconfig config and compiler\), built candidate; /);
    const off = await run("keep-4", mail, workDir, { reuseKernels: false });
    assert.match(off.summary, /^built base and candidate/);
  });

  test("a compile error is the series' failure, with the log tail", async () => {
    const r = await run("broken", await patchMail("net.c", "int net(int a)\n{\n\treturn a +;\n}\n", "net: break"), join(dir, "w2"));
    assert.equal(r.status, "fail");
    assert.match(r.summary, /candidate build \(make -j\d+\) failed/);
    assert.match(r.data.candidate?.logTail ?? "", /error: expected expression/);
  });

  test("a hung build is killed at its deadline: error, not fail", async () => {
    const mail = await patchMail("Makefile", MAKEFILE.replace("\tgcc -c", "\tsleep 600\n\tgcc -c"), "build: hang");
    const t0 = Date.now();
    const r = await run("hang", mail, join(dir, "w3"), { timeoutSec: 10 });
    assert.equal(r.status, "error", r.summary);
    assert.match(r.summary, /timed out after 10 s/);
    assert.ok(Date.now() - t0 < 120_000);
  });

  test("a full disk is an error with the reason", async () => {
    const full = join(dir, "full");
    mkdirSync(full);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", full]);
    const mail = await patchMail("Makefile", MAKEFILE.replace("\tgcc -c", "\tdd if=/dev/zero of=big bs=1M count=64\n\tgcc -c"), "build: fill");
    const r = await run("full", mail, full, { compareBase: false });
    assert.equal(r.status, "error", r.summary);
    assert.match(r.summary, /ran out of disk space/);
    assert.match(r.data.candidate?.logTail ?? "", /No space left on device/);
  });

  test("make runs in the sandbox: not root, no secrets, no network, nothing outside its worktree", async () => {
    const workDir = join(dir, "w5");
    mkdirSync(join(workDir, "artifacts"), { recursive: true });
    writeFileSync(join(workDir, "artifacts", "secret.txt"), "artifact-secret\n");
    process.env.PATCHBENCH_SMTP_PASSWORD = "smtp-secret";
    rmSync("/tmp/pwned", { force: true });
    const recipe = [
      "\t@echo uid=$$(id -u)",
      "\t@env | sed 's/^/env: /'",
      `\t@cat ${workDir}/artifacts/secret.txt || echo hidden`,
      "\t@touch /etc/pwned || echo etc-refused",
      "\t@echo x > /tmp/pwned && echo tmp-private",
      "\t@(exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null && echo net-open || echo net-refused",
      "\t@touch written-by-make",
    ].join("\n");
    const mail = await patchMail("Makefile", MAKEFILE.replace("bzImage:\n", () => `bzImage:\n${recipe}\n`), "build: look around");
    try {
      const r = await run("look", mail, workDir, { compareBase: false });
      assert.equal(r.status, "pass", r.summary);
      const log = readFileSync(r.data.candidate!.logPath, "utf8");
      assert.match(log, /^uid=(\d+)$/m);
      assert.notEqual(/^uid=(\d+)$/m.exec(log)?.[1], "0");
      assert.equal(/smtp-secret|artifact-secret|PATCHBENCH/.test(log), false, log);
      assert.match(log, /^env: KBUILD_BUILD_USER=patchbench$/m);
      for (const line of ["hidden", "etc-refused", "tmp-private", "net-refused"]) assert.match(log, new RegExp(`^${line}$`, "m"));
      assert.equal(existsSync("/etc/pwned") || existsSync("/tmp/pwned"), false);
    } finally {
      delete process.env.PATCHBENCH_SMTP_PASSWORD;
    }
  });
});
