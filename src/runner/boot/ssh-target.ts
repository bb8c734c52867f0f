import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { BootConfig } from "../../config/schema.ts";
import type { BootRun } from "../../domain/results.ts";
import { type Exec, ExecError, type ExecResult, exec as defaultExec } from "../../lib/exec.ts";
import { type BootRequest, type BootTarget, GUEST_PROBES } from "./boot-target.ts";
import { readBzImageVersion, runsImage } from "./kernel-identity.ts";
import { consoleTail, parseConsole } from "./parse-console.ts";

/** Pure: one argv as a single remote shell word list (ssh hands the remote side a string). */
export function remoteCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** Pure: {kernel} and {probe} placeholders of a configured command. */
export function fillPlaceholders(argv: readonly string[], values: { kernel: string; probe: string }): string[] {
  return argv.map((a) => a.replaceAll("{kernel}", values.kernel).replaceAll("{probe}", values.probe));
}

/**
 * Bare-metal boot target over SSH: copy the kernel and the probe, install,
 * switch (kexec -l or a one-shot boot entry), reboot, wait for SSH with a
 * deadline and a changed boot id, run the probe, collect, switch back.
 * Every remote command is an argv quoted for the remote shell; the
 * identity file's path is passed to ssh, never its contents.
 */
export function createSshTarget(cfg: BootConfig["ssh"], deps: { exec?: Exec; pollMs?: number } = {}): BootTarget {
  const exec = deps.exec ?? defaultExec;
  const pollMs = deps.pollMs ?? 2000;
  return {
    kind: "ssh",
    async run(req: BootRequest): Promise<BootRun> {
      const started = Date.now();
      const label: BootRun["kernel"] = req.kernel?.label ?? "running";
      const base = { target: "ssh" as const, kernel: label };
      const log: string[] = [];
      const sig = req.signal ? { signal: req.signal } : {};
      const finish = (outcome: BootRun["outcome"], reason: string, text = "", probes: BootRun["probes"] = []): BootRun => {
        mkdirSync(req.artifactsDir, { recursive: true });
        writeFileSync(join(req.artifactsDir, `ssh-${label}.log`), `${log.join("\n")}\n${text}`);
        return { ...base, outcome, reason, durationMs: Date.now() - started, consoleTail: consoleTail(`${log.join("\n")}\n${text}`), probes };
      };
      if (!cfg.host) return finish("error", "boot.ssh.host is not set");
      mkdirSync(req.artifactsDir, { recursive: true });
      const opts = [
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=5",
        "-o", "ServerAliveInterval=5",
        "-o", "ServerAliveCountMax=2",
        "-o", `UserKnownHostsFile=${cfg.knownHostsFile ?? join(req.artifactsDir, "known_hosts")}`,
        "-o", `StrictHostKeyChecking=${cfg.knownHostsFile ? "yes" : "accept-new"}`,
        ...(cfg.identityFile ? ["-i", cfg.identityFile, "-o", "IdentitiesOnly=yes"] : []),
      ];
      const dest = `${cfg.user}@${cfg.host}`;
      // exec passes no ambient variables: an ssh agent is handed over explicitly (identityFile needs none).
      const agent = process.env.SSH_AUTH_SOCK ? { extraEnv: { SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK } } : {};
      const ssh = async (argv: readonly string[], timeoutMs = 120_000): Promise<ExecResult> => {
        log.push(`$ ${remoteCommand(argv)}`);
        try {
          const r = await exec(["ssh", "-p", String(cfg.port), ...opts, dest, "--", remoteCommand(argv)], { timeoutMs, okCodes: "any", ...agent, ...sig });
          if (r.stderr.trim()) log.push(r.stderr.trim().split("\n").slice(-3).join("\n"));
          return r;
        } catch (e) {
          if (!(e instanceof ExecError) || req.signal?.aborted) throw e;
          log.push(e.message);
          return e.result;
        }
      };
      const bootId = async (): Promise<string | null> => {
        const r = await ssh(cfg.bootIdCommand, 15_000);
        return r.code === 0 ? r.stdout.trim() : null;
      };
      const waitBack = async (before: string | null): Promise<string | null> => {
        const deadline = Date.now() + cfg.bootDeadlineSec * 1000;
        while (Date.now() < deadline) {
          const id = await bootId();
          if (id !== null && id !== before) return id;
          await new Promise((r) => setTimeout(r, pollMs));
          if (req.signal?.aborted) throw new Error("aborted");
        }
        return null;
      };

      const before = await bootId();
      if (before === null) return finish("error", `ssh target ${cfg.host}:${cfg.port} does not answer`);
      const remoteProbe = `${cfg.remoteDir}/${basename(req.probe)}`;
      let switched = false;
      let wrongKernel: string | null = null;
      if (req.kernel) {
        const kernel = `${cfg.remoteDir}/${basename(req.kernel.image)}`;
        const values = { kernel, probe: remoteProbe };
        if ((await ssh(["mkdir", "-p", cfg.remoteDir])).code !== 0) return finish("error", `cannot create ${cfg.remoteDir} on the target`);
        const scp = await exec(["scp", "-q", "-P", String(cfg.port), ...opts, req.kernel.image, req.probe, `${dest}:${cfg.remoteDir}/`], {
          ...agent,
          timeoutMs: 600_000,
          okCodes: "any",
          ...sig,
        });
        log.push(`$ scp ${basename(req.kernel.image)} ${basename(req.probe)} -> ${cfg.remoteDir}/ (exit ${scp.code})`);
        if (scp.code !== 0) return finish("error", `copy to the target failed: ${scp.stderr.trim().split("\n").pop() ?? ""}`);
        for (const [what, argv] of [["install", cfg.installCommand], ["switch", cfg.switchCommand]] as const) {
          if (argv.length === 0) continue;
          const r = await ssh(fillPlaceholders(argv, values), 600_000);
          if (r.code !== 0) return finish("error", `${what} command failed (exit ${r.code}): ${r.stderr.trim().split("\n").pop() ?? ""}`);
        }
        // The connection drops while the target reboots: any exit code is expected here.
        await ssh(fillPlaceholders(cfg.rebootCommand, values), 60_000);
        switched = true;
        const after = await waitBack(before);
        if (after === null) {
          return finish("timeout", `ssh target did not come back with a new boot id within ${cfg.bootDeadlineSec} s after the switch to the ${label} kernel`);
        }
        log.push(`boot id ${before} -> ${after}`);
        // A new boot id proves a reboot, not which kernel: the built image names itself (#<commit>).
        const expected = readBzImageVersion(req.kernel.image);
        const running = (await ssh(["cat", "/proc/version"], 15_000)).stdout.trim();
        log.push(`running: ${running}`);
        if (expected !== null && !runsImage(expected, running)) {
          wrongKernel = `the target came up with another kernel than the ${label} image: "${running}" (the image is "${expected}")`;
        }
      } else {
        await ssh(["mkdir", "-p", cfg.remoteDir]);
        await exec(["scp", "-q", "-P", String(cfg.port), ...opts, req.probe, `${dest}:${cfg.remoteDir}/`], { timeoutMs: 600_000, okCodes: "any", ...agent, ...sig });
      }
      const r = wrongKernel === null ? await ssh([remoteProbe], req.timeoutMs) : null;
      const text = r ? `${r.stdout}${r.stderr}` : "";
      const c = r ? parseConsole(text, { suite: "guest-probe", timedOut: r.timedOut, expected: GUEST_PROBES }) : { outcome: "error" as const, reason: wrongKernel!, probes: [] };
      let restoreNote = "";
      if (switched) {
        const mid = await bootId();
        await ssh(fillPlaceholders(cfg.restoreCommand, { kernel: "", probe: remoteProbe }), 60_000);
        const back = await waitBack(mid);
        restoreNote = back === null ? `; WARNING: the target did not come back from the switch back within ${cfg.bootDeadlineSec} s` : "; switched back";
      }
      return finish(c.outcome, `${c.reason}${restoreNote}`, text, c.probes);
    },
  };
}
