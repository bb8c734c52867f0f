import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bootSchema } from "../../src/config/schema.ts";
import { buildGuestProbe } from "../../src/runner/boot/build-guest-probe.ts";
import { createSshTarget } from "../../src/runner/boot/ssh-target.ts";

/**
 * The ssh boot target against a real OpenSSH server started by the test in
 * a network namespace it creates (198.51.100.248/30 over a veth pair; this machine's own eth0 holds 192.0.2.2). kexec and
 * the reboots are configured commands here: scripts that record they were
 * called and give the "machine" a new boot id.
 */
const SSHD = "/usr/sbin/sshd";
describe("ssh boot target (real sshd in a netns)", { skip: existsSync(SSHD) ? false : "openssh-server not installed" }, () => {
  const ns = `pb-ssh-${process.pid}`;
  const veth = `pbs${process.pid % 100000}`;
  let dir: string;
  let sshd: ChildProcess;
  let port: number;
  const sh = (...argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { stdio: "pipe" });
  const script = (name: string, body: string) => {
    const p = join(dir, "bin", name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-ssh-"));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "bin"));
    mkdirSync("/run/sshd", { recursive: true });
    sh("ip", "netns", "add", ns);
    sh("ip", "link", "add", veth, "type", "veth", "peer", "name", `${veth}p`);
    sh("ip", "link", "set", `${veth}p`, "netns", ns);
    sh("ip", "addr", "add", "198.51.100.249/30", "dev", veth);
    sh("ip", "link", "set", veth, "up");
    sh("ip", "netns", "exec", ns, "ip", "addr", "add", "198.51.100.250/30", "dev", `${veth}p`);
    sh("ip", "netns", "exec", ns, "ip", "link", "set", `${veth}p`, "up");
    sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key"));
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key"));
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
    port = 20000 + (process.pid % 20000);
    writeFileSync(
      join(dir, "sshd_config"),
      [
        `Port ${port}`, "ListenAddress 198.51.100.250", `HostKey ${join(dir, "host_key")}`, `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
        "StrictModes no", "Subsystem sftp internal-sftp", `PidFile ${join(dir, "sshd.pid")}`, "LogLevel ERROR",
      ].join("\n"),
    );
    writeFileSync(join(dir, "boot_id"), "boot-0\n");
    sshd = spawn("ip", ["netns", "exec", ns, SSHD, "-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "inherit"] });
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await new Promise<boolean>((res) => {
        const c = connect({ host: "198.51.100.250", port }, () => {
          c.destroy();
          res(true);
        });
        c.on("error", () => res(false));
      });
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(up, "sshd listens");
  });
  after(() => {
    sshd?.kill("SIGTERM");
    try {
      sh("ip", "link", "del", veth);
    } catch {
      /* gone with the namespace */
    }
    try {
      sh("ip", "netns", "del", ns);
    } catch {
      /* already gone */
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (over: Record<string, unknown>) =>
    bootSchema.parse({
      target: "ssh",
      ssh: {
        host: "198.51.100.250",
        port,
        identityFile: join(dir, "client_key"),
        remoteDir: join(dir, "remote"),
        switchCommand: [script("kexec", `echo "kexec $*" >> ${dir}/calls.log`), "-l", "{kernel}", "--reuse-cmdline"],
        rebootCommand: [script("reboot", `echo reboot >> ${dir}/calls.log; echo "boot-$(date +%s%N)" > ${dir}/boot_id`)],
        restoreCommand: [script("restore", `echo restore >> ${dir}/calls.log; echo "boot-$(date +%s%N)" > ${dir}/boot_id`)],
        bootIdCommand: ["cat", join(dir, "boot_id")],
        bootDeadlineSec: 5,
        ...over,
      },
    }).ssh;

  test("copy, kexec, reboot, wait for a new boot id, run the probe, switch back", async () => {
    const kernel = join(dir, "bzImage-candidate");
    writeFileSync(kernel, "not really a kernel: kexec is a recording script here\n");
    const probe = await buildGuestProbe(join(dir, "cache"));
    const target = createSshTarget(config({}), { pollMs: 200 });
    const r = await target.run({ kernel: { label: "candidate", image: kernel }, probe, timeoutMs: 60_000, artifactsDir: join(dir, "art") });
    assert.equal(r.outcome, "ok", `${r.reason}\n${r.consoleTail}`);
    assert.deepEqual(r.probes.map((p) => [p.name, p.status]), [["tcp-loopback-round-trip", "pass"], ["so-busy-poll-setsockopt", "pass"]]);
    assert.match(r.reason, /switched back/);
    assert.equal(readFileSync(join(dir, "remote", "bzImage-candidate"), "utf8"), readFileSync(kernel, "utf8"), "kernel copied");
    assert.deepEqual(readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n"), [
      `kexec -l ${join(dir, "remote", "bzImage-candidate")} --reuse-cmdline`,
      "reboot",
      "restore",
    ]);
    assert.doesNotMatch(readFileSync(join(dir, "art", "ssh-candidate.log"), "utf8"), /PRIVATE KEY/);
  });

  test("a target that never comes back is a timeout with the reason", async () => {
    writeFileSync(join(dir, "calls.log"), "");
    const never = script("reboot-never", `echo reboot >> ${dir}/calls.log`);
    const kernel = join(dir, "bzImage-candidate");
    const probe = await buildGuestProbe(join(dir, "cache"));
    const t0 = Date.now();
    const r = await createSshTarget(config({ rebootCommand: [never] }), { pollMs: 200 }).run({
      kernel: { label: "candidate", image: kernel },
      probe,
      timeoutMs: 60_000,
      artifactsDir: join(dir, "art2"),
    });
    assert.equal(r.outcome, "timeout");
    assert.match(r.reason, /did not come back with a new boot id within 5 s/);
    assert.ok(Date.now() - t0 < 60_000);
    assert.deepEqual(readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n"), [`kexec -l ${join(dir, "remote", "bzImage-candidate")} --reuse-cmdline`, "reboot"]);
  });

  test("an unreachable target is an error, not a hang", async () => {
    const r = await createSshTarget(config({ host: "198.51.100.251", port: 1 }), { pollMs: 200 }).run({
      kernel: null,
      probe: await buildGuestProbe(join(dir, "cache")),
      timeoutMs: 10_000,
      artifactsDir: join(dir, "art3"),
    });
    assert.equal(r.outcome, "error");
    assert.match(r.reason, /does not answer/);
  });
});
