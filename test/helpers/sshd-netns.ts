import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const SSHD = "/usr/sbin/sshd";

/**
 * A second machine for ssh tests: a network namespace behind a veth pair (a /30: the host side
 * `hostAddr`, the namespace `peerAddr`), a temp dir with ed25519 host keys, a client key in
 * authorized_keys, and real OpenSSH servers started inside the namespace. Needs root.
 */
export interface SshNetns {
  ns: string;
  dir: string;
  peerAddr: string;
  /** The client's private key (its .pub is authorized). */
  clientKey: string;
  sh: (...argv: string[]) => string;
  /** A known_hosts line pinning the host key `keyName` (a file in dir) for port `port`. */
  pin: (keyName: string, port: number) => string;
  /** Start sshd in the namespace with config file `name`; resolves once it answers with its banner. */
  startSshd: (name: string, port: number, extra: string[]) => Promise<ChildProcess>;
  /** Stop the sshds started here, remove the veth, the namespace and the dir. */
  close: () => void;
}

export function createSshNetns(opts: { ns: string; veth: string; hostAddr: string; peerAddr: string; dirPrefix: string; hostKeys: string[] }): SshNetns {
  const { ns, veth, peerAddr } = opts;
  const sh = (...argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { stdio: "pipe" }).toString();
  const dir = mkdtempSync(join(tmpdir(), opts.dirPrefix));
  const started: ChildProcess[] = [];
  mkdirSync("/run/sshd", { recursive: true });
  sh("ip", "netns", "add", ns);
  sh("ip", "link", "add", veth, "type", "veth", "peer", "name", `${veth}p`);
  sh("ip", "link", "set", `${veth}p`, "netns", ns);
  sh("ip", "addr", "add", `${opts.hostAddr}/30`, "dev", veth);
  sh("ip", "link", "set", veth, "up");
  sh("ip", "-n", ns, "addr", "add", `${peerAddr}/30`, "dev", `${veth}p`);
  sh("ip", "-n", ns, "link", "set", `${veth}p`, "up");
  sh("ip", "-n", ns, "link", "set", "lo", "up");
  for (const k of [...opts.hostKeys, "client_key"]) sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(dir, k));
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));

  const startSshd = async (name: string, port: number, extra: string[]): Promise<ChildProcess> => {
    writeFileSync(
      join(dir, name),
      [
        `Port ${port}`, `ListenAddress ${peerAddr}`, `HostKey ${join(dir, "host_key")}`, `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
        "StrictModes no", `PidFile ${join(dir, `${name}.pid`)}`, "LogLevel ERROR", ...extra,
      ].join("\n"),
    );
    const child = spawn("ip", ["netns", "exec", ns, SSHD, "-D", "-e", "-f", join(dir, name)], { stdio: ["ignore", "ignore", "inherit"] });
    started.push(child);
    // sshd listens once it answers with its banner (a bare connect would leave a kex error in its log).
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await new Promise<boolean>((res) => {
        const c = connect({ host: peerAddr, port });
        c.once("data", () => {
          c.end("SSH-2.0-probe\r\n");
          c.destroy();
          res(true);
        });
        c.on("error", () => res(false));
      });
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(up, `${name}: sshd listens`);
    return child;
  };

  return {
    ns,
    dir,
    peerAddr,
    clientKey: join(dir, "client_key"),
    sh,
    pin: (key, port) => `[${peerAddr}]:${port} ${readFileSync(join(dir, `${key}.pub`), "utf8").split(" ").slice(0, 2).join(" ")}\n`,
    startSshd,
    close: () => {
      for (const c of started) c.kill("SIGTERM");
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
    },
  };
}
