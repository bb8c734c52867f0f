import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BootConfig } from "../../config/schema.ts";
import type { BootRun } from "../../domain/results.ts";
import { type Exec, ExecError, exec as defaultExec } from "../../lib/exec.ts";
import { type BootRequest, type BootTarget, GUEST_PROBES } from "./boot-target.ts";
import { makeInitramfs } from "./make-initramfs.ts";
import { consoleTail, parseConsole } from "./parse-console.ts";

function kvmUsable(): boolean {
  try {
    closeSync(openSync("/dev/kvm", "r+"));
    return true;
  } catch {
    return false;
  }
}

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
 * runs the probe on the serial console. KVM when /dev/kvm really works,
 * TCG otherwise (and as a fallback when KVM refuses). The console is kept
 * in the job's artifacts folder; the deadline kills QEMU's process group.
 */
export function createQemuTarget(cfg: BootConfig["qemu"], deps: { exec?: Exec } = {}): BootTarget {
  const exec = deps.exec ?? defaultExec;
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
      const boot = async (accel: "kvm" | "tcg") => {
        try {
          const r = await exec(qemuArgv(cfg, req.kernel!.image, initrd, accel), {
            timeoutMs: req.timeoutMs,
            okCodes: "any",
            maxOutput: 1024 * 1024,
            ...(req.signal ? { signal: req.signal } : {}),
          });
          return { text: `${r.stdout}${r.stderr}`, timedOut: false, code: r.code };
        } catch (e) {
          if (!(e instanceof ExecError)) throw e;
          if (req.signal?.aborted) throw e;
          return { text: `${e.result.stdout}${e.result.stderr}`, timedOut: e.result.timedOut, code: e.result.code };
        }
      };
      const wantKvm = cfg.kvm === "on" || (cfg.kvm === "auto" && kvmUsable());
      let accel: "kvm" | "tcg" = wantKvm ? "kvm" : "tcg";
      let r = await boot(accel);
      const notes: string[] = [];
      if (accel === "kvm" && cfg.kvm === "auto" && /kvm/i.test(r.text) && !/PATCHBENCH-INIT/.test(r.text)) {
        notes.push("KVM refused; fell back to TCG");
        accel = "tcg";
        r = await boot(accel);
      }
      writeFileSync(join(req.artifactsDir, `console-${label}.log`), r.text);
      const c = parseConsole(r.text, { suite: "guest-probe", timedOut: r.timedOut, expected: GUEST_PROBES });
      const reason = [c.reason, `qemu ${accel}`, ...notes].join("; ");
      return { ...base, outcome: c.outcome, reason, durationMs: Date.now() - started, consoleTail: consoleTail(r.text), probes: c.probes };
    },
  };
}
