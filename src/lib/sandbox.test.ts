import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { exec } from "./exec.ts";
import { createSandbox, DEFAULT_SANDBOX_LIMITS, resolveSandboxIdentity, type SandboxSettings, sandboxArgv } from "./sandbox.ts";

test("identity: the configured user, else 65534; never root", () => {
  const passwd = "root:x:0:0::/root:/bin/bash\npatchbench-sandbox:x:999:995::/nonexistent:/usr/sbin/nologin\n";
  assert.deepEqual(resolveSandboxIdentity("patchbench-sandbox", { passwd, euid: 0 }), { uid: 999, gid: 995, source: "user", name: "patchbench-sandbox" });
  assert.equal(resolveSandboxIdentity("nobody-here", { passwd, euid: 0 }).uid, 65534);
  assert.equal(resolveSandboxIdentity("root", { passwd, euid: 0 }).uid, 65534, "a user mapped to uid 0 is not a sandbox user");
  assert.equal(resolveSandboxIdentity("patchbench-sandbox", { passwd, euid: 1000 }).source, "self");
});

test("argv: limits, privilege drop, bwrap with no network, hidden paths before the binds", () => {
  const argv = sandboxArgv(
    ["make", "-j2"],
    { cwd: "/w/wt", writable: ["/w/wt"], readOnly: ["/w/mirrors/t.git"], env: { KBUILD_BUILD_USER: "patchbench" } },
    { limits: DEFAULT_SANDBOX_LIMITS, hide: ["/data", "/data/store.sqlite", "/w"] },
    { uid: 999, gid: 995, source: "user", name: "patchbench-sandbox" },
    (p) => (p === "/data/store.sqlite" ? "file" : "dir"),
  );
  assert.equal(argv[0], "prlimit");
  assert.ok(argv.includes("--nproc=1024") && argv.includes("--as=4294967296"));
  const setpriv = argv.indexOf("setpriv");
  const bwrap = argv.indexOf("bwrap");
  assert.ok(setpriv > 0 && bwrap > setpriv && argv.includes("--reuid=999") && argv.includes("--no-new-privs"));
  for (const flag of ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--disable-userns"]) assert.ok(argv.includes(flag), flag);
  assert.equal(argv.includes("--share-net"), false);
  const joined = argv.join(" ");
  assert.ok(joined.indexOf("--tmpfs /data") < joined.indexOf("--bind /w/wt /w/wt") && joined.indexOf("--tmpfs /w ") < joined.indexOf("--bind /w/wt /w/wt"));
  assert.match(joined, /--ro-bind \/dev\/null \/data\/store\.sqlite/);
  assert.match(joined, /--ro-bind \/w\/mirrors\/t\.git \/w\/mirrors\/t\.git/);
  assert.match(joined, /--setenv KBUILD_BUILD_USER patchbench/);
  assert.deepEqual(argv.slice(-3), ["--", "make", "-j2"]);
});

/** Real bubblewrap, real setpriv/prlimit: what a hostile tree could try. */
describe("sandbox (real bwrap)", { skip: process.geteuid?.() !== 0 ? "needs root to drop to the sandbox user" : false }, () => {
  let dir: string;
  let dataDir: string;
  let workDir: string;
  let wt: string;
  let server: Server;
  let port: number;
  const settings = (limits: Partial<SandboxSettings["limits"]> = {}): SandboxSettings => ({
    mode: "bwrap",
    user: "patchbench-sandbox",
    limits: { ...DEFAULT_SANDBOX_LIMITS, ...limits },
    hide: [dataDir, workDir],
  });
  const sh = (script: string, limits: Partial<SandboxSettings["limits"]> = {}, timeoutMs = 30_000) =>
    createSandbox(settings(limits)).run(["sh", "-c", script], { cwd: wt, writable: [wt], okCodes: "any", timeoutMs });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-sandbox-"));
    dataDir = join(dir, "data");
    workDir = join(dataDir, "work");
    // mkdtemp makes it 0700: outside patchbench's folders the sandbox asks the operator, it does not chmod.
    await assert.rejects(createSandbox(settings()).run(["true"], { cwd: dir }), /not searchable by others/);
    chmodSync(dir, 0o711);
    wt = join(workDir, "worktrees", "job-1");
    mkdirSync(wt, { recursive: true });
    mkdirSync(join(workDir, "worktrees", "job-2"));
    writeFileSync(join(workDir, "worktrees", "job-2", "other-job.c"), "other\n");
    writeFileSync(join(dataDir, "patchbench.sqlite"), "store\n");
    mkdirSync(join(dataDir, "outbox"));
    writeFileSync(join(dataDir, "outbox", "reply.eml"), "mail\n");
    // World-readable on purpose: the sandbox must hide it by the mount, not only by permissions.
    writeFileSync(join(dataDir, "secret.txt"), "data-secret\n", { mode: 0o644 });
    await createSandbox(settings()).prepareWritable([wt]);
    server = createServer((s) => s.end("hello\n"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync("/tmp/pwned", { force: true });
  });

  test("runs as the sandbox user, never uid 0", async () => {
    const r = await sh("id -u; id -g; id -G");
    const want = resolveSandboxIdentity("patchbench-sandbox");
    assert.notEqual(want.uid, 0);
    assert.deepEqual(r.stdout.trim().split("\n"), [String(want.uid), String(want.gid), String(want.gid)]);
  });

  test("no network: a listening port on 127.0.0.1 is unreachable inside, reachable outside", async () => {
    const script = `exec 3<>/dev/tcp/127.0.0.1/${port} && head -1 <&3`;
    const outside = await exec(["bash", "-c", script], { okCodes: "any" });
    assert.equal(outside.stdout.trim(), "hello", "the port answers outside the sandbox");
    const inside = await createSandbox(settings()).run(["bash", "-c", script], { cwd: wt, readOnly: [wt], okCodes: "any" });
    assert.notEqual(inside.code, 0);
    assert.equal(inside.stdout.trim(), "");
    assert.match(inside.stderr, /Connection refused|Network is unreachable|Cannot assign/);
    const ifaces = await sh("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '");
    assert.deepEqual(ifaces.stdout.trim().split("\n"), ["lo"]);
  });

  test("the secret environment is absent: only the base and what the caller names", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      PATCHBENCH_SMTP_PASSWORD: "smtp-secret",
      PATCHBENCH_GITHUB_WEBHOOK_SECRET: "hook-secret",
      GITHUB_TOKEN: "ghp_secret",
      REDIS_URL: "redis://:pw@127.0.0.1:6379",
    });
    try {
      const r = await createSandbox(settings()).run(["env"], { cwd: wt, readOnly: [wt], env: { KBUILD_BUILD_USER: "patchbench" } });
      const keys = r.stdout.trim().split("\n").map((l) => l.slice(0, l.indexOf("=")));
      for (const k of ["PATCHBENCH_SMTP_PASSWORD", "PATCHBENCH_GITHUB_WEBHOOK_SECRET", "GITHUB_TOKEN", "REDIS_URL"]) assert.equal(keys.includes(k), false, k);
      assert.equal(/secret|ghp_|:pw@/.test(r.stdout), false);
      assert.ok(keys.includes("KBUILD_BUILD_USER") && keys.includes("PATH"));
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    }
  });

  test("the data dir, store, outbox and other jobs' worktrees are invisible", async () => {
    const r = await sh(`ls -A ${dataDir}; ls -A ${workDir}/worktrees; cat ${dataDir}/secret.txt ${dataDir}/outbox/reply.eml ${workDir}/worktrees/job-2/other-job.c`);
    assert.equal(r.stdout.includes("data-secret") || r.stdout.includes("mail") || r.stdout.includes("other"), false, r.stdout);
    assert.deepEqual(r.stdout.trim().split("\n"), ["work", "job-1"], "only the path to this job's worktree exists");
    assert.match(r.stderr, /No such file/);
  });

  test("writes: the worktree yes; /etc, /usr, the host's /tmp and the hidden data dir no", async () => {
    rmSync("/tmp/pwned", { force: true });
    const r = await sh(`echo built > out.o; touch /etc/pwned; touch /usr/pwned; echo x > /tmp/pwned; echo x > ${dataDir}/pwned; echo done`);
    assert.equal(r.stdout.trim(), "done");
    assert.match(r.stderr, /Read-only file system/);
    assert.equal(readFileSync(join(wt, "out.o"), "utf8"), "built\n");
    assert.equal(statSync(join(wt, "out.o")).uid, resolveSandboxIdentity("patchbench-sandbox").uid);
    for (const p of ["/etc/pwned", "/usr/pwned", "/tmp/pwned", join(dataDir, "pwned")]) assert.equal(existsSync(p), false, p);
  });

  test("a fork bomb stops at maxProcs; a memory hog at memoryMB; a busy loop at cpuSec", async () => {
    const fork = await createSandbox(settings({ maxProcs: 40 })).run(
      ["perl", "-e", 'my $n = 0; for (1..2000) { my $p = fork(); if (!defined $p) { print "fork failed after $n\\n"; exit 0 } if ($p == 0) { sleep 20; exit 0 } $n++ } print "forked $n\\n"'],
      { cwd: wt, readOnly: [wt], okCodes: "any", timeoutMs: 60_000 },
    );
    const n = Number(/fork failed after (\d+)/.exec(fork.stdout)?.[1]);
    assert.ok(n > 0 && n < 40, fork.stdout + fork.stderr);

    const hog = await createSandbox(settings({ memoryMB: 256 })).run(["perl", "-e", '$x = "a" x (1024 * 1024 * 1024); print "survived\\n"'], {
      cwd: wt,
      readOnly: [wt],
      okCodes: "any",
      timeoutMs: 60_000,
    });
    assert.notEqual(hog.code, 0);
    assert.equal(hog.stdout.includes("survived"), false);
    assert.match(hog.stderr, /Out of memory/);

    const t0 = Date.now();
    const spin = await createSandbox(settings({ cpuSec: 1 })).run(["perl", "-e", "1 while 1"], { cwd: wt, readOnly: [wt], okCodes: "any", timeoutMs: 60_000 });
    assert.notEqual(spin.code, 0);
    assert.ok(Date.now() - t0 < 30_000, "stopped by RLIMIT_CPU, not the 60 s timeout");
  });

  test("a full writable folder is refused after the step (diskMB)", async () => {
    const r = createSandbox(settings({ diskMB: 1 })).run(["sh", "-c", "head -c 3000000 /dev/urandom > big.bin"], { cwd: wt, writable: [wt] });
    await assert.rejects(r, /over runner\.sandboxLimits\.diskMB=1/);
    rmSync(join(wt, "big.bin"), { force: true });
  });
});
