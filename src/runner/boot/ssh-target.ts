import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { BootConfig } from "../../config/schema.ts";
import type { BootRun } from "../../domain/results.ts";
import type { Exec } from "../../lib/exec.ts";
import { type BootRequest, type BootTarget, GUEST_PROBES } from "./boot-target.ts";
import { consoleTail, parseConsole } from "./parse-console.ts";
import { restoreDefault, sshConnection, switchKernel } from "./ssh-connection.ts";

/**
 * Bare-metal boot target over SSH: copy the kernel and the probe, install,
 * switch (kexec -l or a one-shot boot entry), reboot, wait for SSH with a
 * deadline and a changed boot id, check the running kernel is the image's
 * build, run the probe, collect, switch back.
 */
export function createSshTarget(cfg: BootConfig["ssh"], deps: { exec?: Exec; pollMs?: number } = {}): BootTarget {
  return {
    kind: "ssh",
    async run(req: BootRequest): Promise<BootRun> {
      const started = Date.now();
      const label: BootRun["kernel"] = req.kernel?.label ?? "running";
      const base = { target: "ssh" as const, kernel: label };
      const c = sshConnection(cfg, {
        knownHostsFallback: join(req.artifactsDir, "known_hosts"),
        ...(deps.exec ? { exec: deps.exec } : {}),
        ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      });
      const finish = (outcome: BootRun["outcome"], reason: string, text = "", probes: BootRun["probes"] = []): BootRun => {
        mkdirSync(req.artifactsDir, { recursive: true });
        writeFileSync(join(req.artifactsDir, `ssh-${label}.log`), `${c.log.join("\n")}\n${text}`);
        return { ...base, outcome, reason, durationMs: Date.now() - started, consoleTail: consoleTail(`${c.log.join("\n")}\n${text}`), probes };
      };
      if (!cfg.host) return finish("error", "boot.ssh.host is not set");
      mkdirSync(req.artifactsDir, { recursive: true });
      const remoteProbe = `${cfg.remoteDir}/${basename(req.probe)}`;
      let switched = false;
      let afterSwitch: string | null = null;
      if (req.kernel) {
        const sw = await switchKernel(c, cfg, { label, image: req.kernel.image });
        switched = sw.ok || sw.switched;
        if (!sw.ok && sw.outcome === "timeout") return finish("timeout", sw.reason);
        if (!sw.ok && !sw.switched) return finish("error", sw.reason);
        if (!sw.ok) afterSwitch = sw.reason;
        // The probe goes over after the switch: remoteDir may be a tmpfs the reboot emptied.
        else if ((await c.ssh(["mkdir", "-p", cfg.remoteDir])).code !== 0 || (await c.scp([req.probe], cfg.remoteDir)).code !== 0) {
          afterSwitch = `could not copy the probe to the target after the switch to the ${label} kernel`;
        }
      } else {
        if ((await c.bootId()) === null) return finish("error", `ssh target ${cfg.host}:${cfg.port} does not answer`);
        await c.ssh(["mkdir", "-p", cfg.remoteDir]);
        await c.scp([req.probe], cfg.remoteDir);
      }
      const r = afterSwitch === null ? await c.ssh([remoteProbe], req.timeoutMs) : null;
      const text = r ? `${r.stdout}${r.stderr}` : "";
      const out = r ? parseConsole(text, { suite: "guest-probe", timedOut: r.timedOut, expected: GUEST_PROBES }) : { outcome: "error" as const, reason: afterSwitch!, probes: [] };
      const restoreNote = switched ? `; ${await restoreDefault(c, cfg)}` : "";
      return finish(out.outcome, `${out.reason}${restoreNote}`, text, out.probes);
    },
  };
}
