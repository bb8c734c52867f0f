import { existsSync, readFileSync } from "node:fs";
import { type Exec, exec as defaultExec } from "../../lib/exec.ts";
import { onPath } from "../../lib/on-path.ts";
import { resolveSandboxIdentity } from "../../lib/sandbox.ts";
import { kvmUsable } from "../guest/boot-guest.ts";
import { collectMachineProfile } from "../bench/machine-profile.ts";
import type { DoctorFacts } from "./plan-doctor.ts";
import { collectRemotePeerFacts, collectSshTargetFacts } from "./collect-ssh-facts.ts";
import type { BootConfig } from "../../config/schema.ts";
import type { RemotePeer } from "../bench/remote-peer.ts";

const COMMANDS = ["git", "netperf", "netserver", "bwrap", "setpriv", "prlimit", "gcc", "make", "flex", "bison", "bc", "perl", "qemu-system-x86_64", "busybox", "ssh", "ccache"];

const read = (p: string): string | null => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return null;
  }
};

async function quiet(exec: Exec, argv: string[]): Promise<string | null> {
  try {
    const r = await exec(argv, { okCodes: "any", timeoutMs: 10_000 });
    return r.code === 0 ? r.stdout : null;
  } catch {
    return null;
  }
}

/** Pure: ccache's max_size ("20.0G", "5G", "500M") in MB. */
export function parseCcacheSize(v: string): number | null {
  const m = /^\s*([\d.]+)\s*([KMGT]i?)?B?\s*$/i.exec(v);
  if (!m) return null;
  const unit = (m[2] ?? "G").toUpperCase()[0]!;
  const mb = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[unit] ?? 1024;
  return Math.round(Number(m[1]) * mb);
}

/**
 * Read what `runner doctor` judges: the machine profile, commands, the sandbox user, load, memory,
 * disk, ccache, and (over ssh, in parallel) the ssh boot targets and remote bench peers the trees use.
 */
export async function collectDoctorFacts(opts: { workDir: string; sandboxUser: string; sshTargets?: BootConfig["ssh"][]; remotePeers?: RemotePeer[]; exec?: Exec }): Promise<DoctorFacts> {
  const exec = opts.exec ?? defaultExec;
  const remote = Promise.all([
    Promise.all((opts.sshTargets ?? []).map((t) => collectSshTargetFacts(t, exec))),
    Promise.all((opts.remotePeers ?? []).map((p) => collectRemotePeerFacts(p, exec))),
  ]);
  const commands: Record<string, boolean> = {};
  for (const c of COMMANDS) commands[c] = onPath(c);
  const mem = /^MemAvailable:\s+(\d+) kB$/m.exec(read("/proc/meminfo") ?? "");
  // The work dir may not exist yet: its nearest existing parent holds its disk.
  let dir = opts.workDir;
  while (!existsSync(dir) && dir !== "/") dir = dir.replace(/\/[^/]*$/, "") || "/";
  const df = await quiet(exec, ["df", "-B1M", "--output=avail", dir]);
  const ccache = commands.ccache ? await quiet(exec, ["ccache", "-k", "max_size"]) : null;
  return {
    profile: await collectMachineProfile({ exec }),
    commands,
    sandboxUser: { name: opts.sandboxUser, exists: resolveSandboxIdentity(opts.sandboxUser, { euid: 0 }).source === "user" },
    kvm: kvmUsable(),
    irqbalanceRunning: (await quiet(exec, ["pgrep", "-x", "irqbalance"])) !== null,
    clocksource: read("/sys/devices/system/clocksource/clocksource0/current_clocksource")?.trim() ?? null,
    load1: Number((read("/proc/loadavg") ?? "0").split(" ")[0]),
    memAvailableMB: mem ? Math.round(Number(mem[1]) / 1024) : null,
    freeDiskMB: df ? Number(df.trim().split("\n").at(-1)) : null,
    ccacheMaxMB: ccache === null ? null : parseCcacheSize(ccache.trim()),
    sshTargets: (await remote)[0],
    remotePeers: (await remote)[1],
  };
}
