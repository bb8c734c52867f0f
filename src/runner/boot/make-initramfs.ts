import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Exec, exec as defaultExec } from "../../lib/exec.ts";

/** Debian's busybox-static; a statically linked busybox needs nothing else in the initramfs. */
export const BUSYBOX = "/bin/busybox";

const INIT = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
echo PATCHBENCH-INIT
/probe
/bin/busybox sync
/bin/busybox reboot -f
`;

/**
 * A minimal newc initramfs: busybox, an /init that runs the probe on the
 * serial console and reboots (QEMU runs with -no-reboot, so it exits), and
 * /dev/console (the kernel opens it for init before any devtmpfs exists).
 */
export async function makeInitramfs(opts: { probe: string; out: string; busybox?: string; exec?: Exec }): Promise<string> {
  const exec = opts.exec ?? defaultExec;
  const stage = mkdtempSync(`${opts.out}.stage-`);
  try {
    for (const d of ["bin", "dev", "proc", "sys", "tmp"]) mkdirSync(join(stage, d));
    copyFileSync(opts.busybox ?? BUSYBOX, join(stage, "bin", "busybox"));
    chmodSync(join(stage, "bin", "busybox"), 0o755);
    copyFileSync(opts.probe, join(stage, "probe"));
    chmodSync(join(stage, "probe"), 0o755);
    writeFileSync(join(stage, "init"), INIT, { mode: 0o755 });
    await exec(["mknod", "-m", "600", join(stage, "dev", "console"), "c", "5", "1"]);
    const files = [".", "bin", "bin/busybox", "dev", "dev/console", "proc", "sys", "tmp", "init", "probe"];
    const r = await exec(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], {
      cwd: stage,
      input: `${files.join("\n")}\n`,
      maxOutput: 256 * 1024 * 1024,
      timeoutMs: 60_000,
    });
    writeFileSync(opts.out, r.stdoutBytes);
    return opts.out;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
