import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Exec } from "../../lib/exec.ts";
import type { BootGuestResult, Guest } from "../guest/boot-guest.ts";
import { consoleTail } from "./parse-console.ts";
import { restoreDefault, type SshConfig, sshConnection, switchKernel } from "./ssh-connection.ts";

export interface SshGuestRequest {
  label: string;
  image: string;
  artifactsDir: string;
  /** The kept log's file name in artifactsDir (one per switch, like a guest's console). */
  consoleName: string;
  exec?: Exec;
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * A side's kernel on a bare-metal ssh target, as a Guest: the target is switched to the image
 * (switchKernel: copy, kexec, a new boot id, /proc/version checked) and the side's commands
 * run there over ssh. The machine holds one kernel: nothing to pause while another side
 * measures (it is not up), so pause and resume cost nothing; `shutdown` leaves the kernel up
 * for the next switch, and `restore` puts the target back on its default kernel at the end.
 */
export async function bootSshGuest(cfg: SshConfig, req: SshGuestRequest): Promise<Extract<BootGuestResult, { ok: false }> | { ok: true; guest: Guest; restore: () => Promise<string> }> {
  const started = Date.now();
  mkdirSync(req.artifactsDir, { recursive: true });
  const c = sshConnection(cfg, {
    knownHostsFallback: join(req.artifactsDir, "known_hosts"),
    ...(req.exec ? { exec: req.exec } : {}),
    ...(req.pollMs !== undefined ? { pollMs: req.pollMs } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  const consolePath = join(req.artifactsDir, req.consoleName);
  const keepLog = () => writeFileSync(consolePath, `${c.log.join("\n")}\n`);
  const where = `ssh target ${c.dest}:${cfg.port}`;
  if (!cfg.host) return { ok: false, outcome: "error", reason: "boot.ssh.host is not set", consoleTail: "", durationMs: 0, accel: "tcg" };
  const sw = await switchKernel(c, cfg, { label: req.label, image: req.image });
  if (!sw.ok) {
    const restored = sw.switched ? `; ${await restoreDefault(c, cfg)}` : "";
    keepLog();
    return { ok: false, outcome: sw.outcome, reason: `${sw.reason} (${where})${restored}`, consoleTail: consoleTail(c.log.join("\n")), durationMs: Date.now() - started, accel: "tcg" };
  }
  const release = (await c.ssh(["uname", "-r"], 15_000)).stdout.trim();
  keepLog();
  let up = true;
  const guest: Guest = {
    label: req.label,
    accel: null,
    where,
    kernelRelease: release,
    version: sw.running,
    bootId: sw.bootId,
    bootMs: sw.ms,
    consolePath,
    exec: c.exec,
    readFile: async (path) => (await c.exec(["cat", path], { timeoutMs: 30_000 })).stdout,
    writeFile: async (path, data) => {
      await c.exec(["dd", `of=${path}`, "status=none"], { input: data, timeoutMs: 30_000 });
    },
    pause: async () => 0,
    resume: async () => 0,
    alive: () => up,
    death: () => null,
    shutdown: async () => {
      up = false;
      keepLog();
    },
  };
  return {
    ok: true,
    guest,
    restore: async () => {
      const note = await restoreDefault(c, cfg);
      keepLog();
      return note;
    },
  };
}
