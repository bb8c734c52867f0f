import type { BootConfig } from "../../config/schema.ts";

/**
 * The 9p mount tags of the root: with root=/dev/root a kernel mounts the tag
 * "/dev/root" (mount_block_root) or, where prepare_namespace strips "/dev/"
 * before mount_nodev_root (6.1 stable and later), the tag "root". The same
 * read-only share is offered under both names.
 */
export const ROOT_TAG = "/dev/root";
const ROOT_TAG_STRIPPED = "root";
/** The virtio-serial port the guest agent opens (found by name in /sys/class/virtio-ports). */
export const AGENT_PORT = "patchbench.agent";
/** The 9p tag of a job's read-only share (the tests a guest runs), mounted on request. */
export const SHARE_TAG = "pbshare";

export interface GuestArgvOptions {
  qemu: BootConfig["qemu"];
  kernel: string;
  accel: "kvm" | "tcg";
  /** PID 1: a shell script on the runner's file system (seen read-only by the guest). */
  init: string;
  consolePath: string;
  agentSocket: string;
  qmpSocket: string;
  /** Host CPUs QEMU may use (taskset list), or null for any. */
  cpus?: string | null;
  /** A host folder offered read-only under SHARE_TAG (the runner's / hides the job's folders). */
  shareDir?: string | null;
  /**
   * A guest standing in for an ssh target: a user-mode NIC whose port 22 is this loopback port
   * of the runner, and `pb.sshd` on the command line (guest-init.sh starts sshd from the share).
   */
  sshPort?: number | null;
}

/**
 * Pure: the QEMU argv of a guest that boots `kernel` with the runner's own
 * root file system shared read-only over virtio-9p (as virtme-ng and vmtest
 * do), the serial console in a file, the agent on a virtio-serial port and
 * QMP on a unix socket. No network device: the guest's networking is its
 * own loopback and the namespaces the benchmark makes inside it.
 */
export function qemuGuestArgv(o: GuestArgvOptions): string[] {
  const append = [
    "console=ttyS0",
    "panic=-1",
    "oops=panic",
    `root=${ROOT_TAG}`,
    "rootfstype=9p",
    "rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose",
    "ro",
    "init=/bin/sh",
    o.qemu.append,
    o.sshPort ? "pb.sshd" : "",
    "--",
    o.init,
  ].filter(Boolean);
  const argv = [
    o.qemu.binary,
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
    "-accel", o.accel, ...(o.accel === "kvm" ? ["-cpu", "host"] : []),
    "-m", String(o.qemu.memoryMb), "-smp", String(o.qemu.cpus),
    "-kernel", o.kernel, "-append", append.join(" "),
    "-chardev", `file,id=console,path=${o.consolePath}`, "-serial", "chardev:console",
    "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap",
    "-device", `virtio-9p-pci,fsdev=root,mount_tag=${ROOT_TAG}`,
    "-fsdev", "local,id=root2,path=/,security_model=none,readonly=on,multidevs=remap",
    "-device", `virtio-9p-pci,fsdev=root2,mount_tag=${ROOT_TAG_STRIPPED}`,
    ...(o.shareDir
      ? ["-fsdev", `local,id=share,path=${o.shareDir},security_model=none,readonly=on,multidevs=remap`, "-device", `virtio-9p-pci,fsdev=share,mount_tag=${SHARE_TAG}`]
      : []),
    "-device", "virtio-serial-pci",
    "-chardev", `socket,id=agent,path=${o.agentSocket},server=on,wait=off`,
    "-device", `virtserialport,chardev=agent,name=${AGENT_PORT}`,
    "-qmp", `unix:${o.qmpSocket},server=on,wait=off`,
    ...(o.sshPort ? ["-netdev", `user,id=net0,hostfwd=tcp:127.0.0.1:${o.sshPort}-:22`, "-device", "virtio-net-pci,netdev=net0"] : []),
  ];
  return o.cpus ? ["taskset", "-c", o.cpus, ...argv] : argv;
}
