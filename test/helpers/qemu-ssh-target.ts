import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { remoteCommand } from "../../src/runner/boot/ssh-connection.ts";
import { bootGuest, type Guest } from "../../src/runner/guest/boot-guest.ts";

/** Where guest-init.sh mounts the share of a guest started with pb.sshd. */
export const TARGET_SHARE = "/run/pb-share";

/**
 * The stand-in's kexec: the virtio NIC is unbound first (its driver has no shutdown hook in these
 * kernels, so the runner's ssh polls would land by DMA in memory the next kernel already uses and
 * hang it now and then), in its own session so the ssh connection going away does not stop it.
 */
const KEXEC_QUIET = 'for d in /sys/bus/virtio/drivers/virtio_net/virtio*; do basename "$d" > /sys/bus/virtio/drivers/virtio_net/unbind; done; kexec -e';

export interface QemuSshTarget {
  port: number;
  identityFile: string;
  knownHostsFile: string;
  /** Switches the target back to the kernel it was started with (a real box's reboot into its default). */
  restoreCommand: string[];
  /** Reboots into the loaded kernel (kexec -e, the NIC quiet first). */
  rebootCommand: string[];
  guest: Guest;
  /** argv of ssh to the target (for checks the test makes itself). */
  ssh(argv: readonly string[]): string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * A QEMU guest standing in for a bare-metal benchmark box (TCG here, as on every machine of this
 * project): it boots `kernel` with the runner's userspace like every guest, and with `pb.sshd`
 * guest-init.sh starts Debian's sshd on it, reached through a forwarded loopback port, with a
 * pinned host key and one authorized key made here. kexec-tools comes from the runner's
 * userspace; the kernel needs CONFIG_KEXEC and CONFIG_VIRTIO_NET. `pb-restore-default` on the
 * share kexecs the start kernel again, as a real box's reboot would boot its default.
 */
export async function startQemuSshTarget(o: { kernel: string; dir: string; memoryMb?: number }): Promise<QemuSshTarget> {
  const keys = join(o.dir, "keys");
  const share = join(o.dir, "share");
  mkdirSync(keys, { recursive: true });
  mkdirSync(join(share, "ssh"), { recursive: true });
  for (const k of ["client", "host"]) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `pb-${k}`, "-f", join(keys, k)]);
  // Read over 9p by QEMU: world-readable on the host; guest-init.sh copies them to a 0600 tmpfs.
  copyFileSync(join(keys, "host"), join(share, "ssh", "host_key"));
  copyFileSync(join(keys, "client.pub"), join(share, "ssh", "authorized_keys"));
  writeFileSync(
    join(share, "ssh", "sshd_config"),
    [
      "Port 22",
      "HostKey /run/pb-ssh/host_key",
      "AuthorizedKeysFile /run/pb-ssh/authorized_keys",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PidFile /run/pb-ssh/sshd.pid",
      // scp speaks SFTP (OpenSSH 9), as on any Debian box.
      "Subsystem sftp /usr/lib/openssh/sftp-server",
      "",
    ].join("\n"),
  );
  copyFileSync(o.kernel, join(share, "default-bzImage"));
  writeFileSync(join(share, "pb-kexec"), `#!/bin/sh\nsetsid sh -c '${KEXEC_QUIET}' </dev/null >/dev/null 2>&1 &\n`, { mode: 0o755 });
  writeFileSync(join(share, "pb-restore-default"), `#!/bin/sh\nkexec -l ${TARGET_SHARE}/default-bzImage --reuse-cmdline && exec ${TARGET_SHARE}/pb-kexec\n`, { mode: 0o755 });
  execFileSync("chmod", ["-R", "a+rX", share]);
  const tar = join(o.dir, "share.tar");
  execFileSync("tar", ["-cf", tar, "-C", share, "."]);
  const port = await freePort();
  const knownHostsFile = join(keys, "known_hosts");
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${readFileSync(join(keys, "host.pub"), "utf8").split(" ").slice(0, 2).join(" ")}\n`);
  // Test infrastructure, not a job: QEMU runs outside the sandbox so its forwarded port is the runner's.
  const booted = await bootGuest({
    label: "ssh-target",
    kernel: o.kernel,
    qemu: { binary: "qemu-system-x86_64", memoryMb: o.memoryMb ?? 512, cpus: 1, kvm: "auto", append: "" },
    timeoutMs: 300_000,
    artifactsDir: join(o.dir, "artifacts"),
    shareTar: tar,
    sshPort: port,
  });
  if (!booted.ok) throw new Error(`the stand-in target did not boot: ${booted.reason}\n${booted.consoleTail}`);
  const identityFile = join(keys, "client");
  const sshArgv = ["-p", String(port), "-i", identityFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${knownHostsFile}`, "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5", "root@127.0.0.1"];
  const ssh = (argv: readonly string[]) => execFileSync("ssh", [...sshArgv, "--", remoteCommand(argv)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  // sshd starts before the agent says hello, but give it a moment to listen.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      ssh(["true"]);
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`sshd on the stand-in target does not answer: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return { port, identityFile, knownHostsFile, restoreCommand: [`${TARGET_SHARE}/pb-restore-default`], rebootCommand: [`${TARGET_SHARE}/pb-kexec`], guest: booted.guest, ssh, close: () => booted.guest.shutdown() };
}
