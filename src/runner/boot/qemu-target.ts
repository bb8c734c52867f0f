import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BootConfig } from "../../config/schema.ts";
import type { BootRun } from "../../domain/results.ts";
import { type Exec, ExecError, exec as defaultExec } from "../../lib/exec.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import { kvmUsable } from "../guest/boot-guest.ts";
import { type BootRequest, type BootTarget, GUEST_PROBES } from "./boot-target.ts";
import { makeInitramfs } from "./make-initramfs.ts";
import { consoleTail, parseConsole } from "./parse-console.ts";

const KVM_SIGN_OF_LIFE_MS = 20_000;

/** Pure: the QEMU argv for one boot (serial console on stdout, exits on reboot/panic). */
export function qemuArgv(cfg: BootConfig["qemu"], kernel: string, initrd: string, accel: "kvm" | "tcg"): string[] {
  const append = ["console=ttyS0", "panic=-1", "rdinit=/init", cfg.append].filter(Boolean).join(" ");
  return [
    cfg.binary,
    "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
    "-accel", accel, ...(accel === "kvm" ? ["-cpu", "host"] : []),
    "-m", String(cfg.memoryMb), "-smp", String(cfg.cpus),
    "-kernel", kernel, "-initrd", initrd, "-append", append,
  ];
}

/**
 * QEMU boot target: the built kernel with a busybox initramfs whose /init
 * runs the probe on the serial console. KVM when /dev/kvm really works
 * (a guest printed within 20 s), TCG otherwise. The console is kept
 * in the job's artifacts folder; the deadline kills QEMU's process group.
 * The kernel is the series' code: with a sandbox, QEMU runs in it as the
 * sandbox user, seeing only a folder with copies of the image and initramfs.
 */
export function createQemuTarget(cfg: BootConfig["qemu"], deps: { exec?: Exec; sandbox?: Sandbox } = {}): BootTarget {
  const exec = deps.exec ?? defaultExec;
  const sandbox = deps.sandbox;
  // Learned on the first boot of this target (null: not tried yet).
  let kvmVerdict: boolean | null = null;
  return {
    kind: "qemu",
    async run(req: BootRequest): Promise<BootRun> {
      const started = Date.now();
      const label = req.kernel?.label ?? "base";
      const base = { target: "qemu" as const, kernel: label };
      if (req.kernel === null) {
        return { ...base, outcome: "error", reason: "the qemu target needs a built kernel image", durationMs: 0, consoleTail: "", probes: [] };
      }
      mkdirSync(req.artifactsDir, { recursive: true });
      const initrd = await makeInitramfs({ probe: req.probe, out: join(req.artifactsDir, `initramfs-${label}.cpio`), exec });
      // In the sandbox QEMU reads only its own folder: copies of the image and the initramfs.
      const own = sandbox && sandbox.mode !== "none" ? mkdtempSync(join(tmpdir(), "pbq-")) : null;
      const kernel = own ? join(own, "bzImage") : req.kernel.image;
      const bootFiles = own ? join(own, "initramfs.cpio") : initrd;
      const boot = async (accel: "kvm" | "tcg", timeoutMs: number) => {
        const argv = qemuArgv(cfg, kernel, bootFiles, accel);
        const opts = { timeoutMs, okCodes: "any" as const, maxOutput: 1024 * 1024, ...(req.signal ? { signal: req.signal } : {}) };
        try {
          const r =
            own && sandbox
              ? await sandbox.run(argv, { ...opts, cwd: own, readOnly: [own], devices: accel === "kvm" ? ["/dev/kvm"] : [] })
              : await exec(argv, opts);
          return { text: `${r.stdout}${r.stderr}`, timedOut: false, code: r.code };
        } catch (e) {
          if (!(e instanceof ExecError)) throw e;
          if (req.signal?.aborted) throw e;
          return { text: `${e.result.stdout}${e.result.stderr}`, timedOut: e.result.timedOut, code: e.result.code };
        }
      };
      const notes: string[] = [];
      let accel: "kvm" | "tcg" = cfg.kvm === "on" || (cfg.kvm === "auto" && kvmVerdict !== false && kvmUsable()) ? "kvm" : "tcg";
      // auto: /dev/kvm can open and still not run a guest (it hangs silently here, FACTS.md).
      // Trust KVM only after a guest printed something within KVM_SIGN_OF_LIFE_MS; else use TCG.
      const firstTry = accel === "kvm" && cfg.kvm === "auto" && kvmVerdict === null ? Math.min(req.timeoutMs, KVM_SIGN_OF_LIFE_MS) : req.timeoutMs;
      let r: Awaited<ReturnType<typeof boot>>;
      try {
        if (own && sandbox) {
          copyFileSync(req.kernel.image, kernel);
          copyFileSync(initrd, bootFiles);
          await sandbox.prepareWritable([own]);
        }
        r = await boot(accel, firstTry);
        if (accel === "kvm" && cfg.kvm === "auto" && kvmVerdict === null) {
          const alive = /PATCHBENCH-INIT|Linux version/.test(r.text);
          kvmVerdict = alive;
          if (!alive) {
            notes.push(`KVM gave no sign of life in ${firstTry / 1000} s; fell back to TCG`);
            accel = "tcg";
            r = await boot(accel, req.timeoutMs);
          } else if (r.timedOut && firstTry < req.timeoutMs) {
            r = await boot(accel, req.timeoutMs);
          }
        }
      } finally {
        if (own) rmSync(own, { recursive: true, force: true });
      }
      writeFileSync(join(req.artifactsDir, `console-${label}.log`), r.text);
      const c = parseConsole(r.text, { suite: "guest-probe", timedOut: r.timedOut, expected: GUEST_PROBES });
      const reason = [c.reason, `qemu ${accel}`, ...notes].join("; ");
      return { ...base, outcome: c.outcome, reason, durationMs: Date.now() - started, consoleTail: consoleTail(r.text), probes: c.probes };
    },
  };
}
