import type { BootConfig, Config } from "../../config/schema.ts";
import type { RemotePeer } from "../../runner/bench/remote-peer.ts";
import type { MachineProfile } from "../../runner/bench/machine-profile.ts";
import { collectDoctorFacts } from "../../runner/doctor/collect-doctor-facts.ts";
import { type DoctorCheck, type DoctorNeeds, doctorUnfit, formatDoctor, planDoctor } from "../../runner/doctor/plan-doctor.ts";
import { type GlobalFlags, loadConfigFromFlags } from "../context.ts";

/** Pure: what the configured trees and runner settings need from a box. */
export function doctorNeedsOf(config: Config): DoctorNeeds {
  const r = config.global.runner;
  return {
    build: config.trees.some((t) => t.stages.includes("build")),
    qemu: config.trees.some((t) => t.stages.includes("build") && t.boot.target === "qemu"),
    ssh: config.trees.some((t) => t.boot.target === "ssh") || remotePeersOf(config).length > 0,
    sandbox: r.sandbox,
    diskMB: r.sandboxLimits.diskMB,
  };
}

/** Pure: the ssh boot targets the trees boot on, each once. */
export function sshTargetsOf(config: Config): BootConfig["ssh"][] {
  const seen = new Map<string, BootConfig["ssh"]>();
  for (const t of config.trees) if (t.boot.target === "ssh") seen.set(JSON.stringify([t.boot.ssh.user, t.boot.ssh.host, t.boot.ssh.port, t.boot.ssh.identityFile, t.boot.ssh.knownHostsFile]), t.boot.ssh);
  return [...seen.values()];
}

/** Pure: the remote bench peers of trees that bench on the remote topology, each once. */
export function remotePeersOf(config: Config): RemotePeer[] {
  const seen = new Map<string, RemotePeer>();
  for (const t of config.trees) {
    const r = t.bench.remote;
    if (r !== null && t.stages.includes("bench") && t.bench.topologies.includes("remote")) seen.set(JSON.stringify([r.user, r.host, r.port, r.identityFile, r.knownHostsFile]), r);
  }
  return [...seen.values()];
}

/** Pure: the config as one pool's runner sees it: only the trees whose jobs that pool runs. */
export function configForPool(config: Config, pool: string): Config {
  return { ...config, trees: config.trees.filter((t) => t.pool === pool) };
}

/**
 * The doctor's checks of this box against the loaded config, with the machine profile it read.
 * At `patchbench runner --pool P` start only P's trees count: a target or peer of another pool
 * being down is not this runner's concern.
 */
export async function examineBox(all: Config, pool?: string): Promise<{ checks: DoctorCheck[]; profile: MachineProfile }> {
  const config = pool === undefined ? all : configForPool(all, pool);
  const facts = await collectDoctorFacts({
    workDir: config.paths.workDir,
    sandboxUser: config.global.runner.sandboxUser,
    sshTargets: sshTargetsOf(config),
    remotePeers: remotePeersOf(config),
  });
  return { checks: planDoctor(facts, doctorNeedsOf(config), config.global.runner.requireTuned), profile: facts.profile };
}

/** `patchbench runner doctor [--json]`: exit 0 when the box may take jobs, 1 when it is unfit. */
export async function runnerDoctorCommand(flags: GlobalFlags, opts: { json?: boolean }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const { checks } = await examineBox(config);
  if (opts.json) process.stdout.write(`${JSON.stringify({ unfit: doctorUnfit(checks), requireTuned: config.global.runner.requireTuned, checks }, null, 2)}\n`);
  else process.stdout.write(formatDoctor(checks, config.global.runner.requireTuned));
  return doctorUnfit(checks) ? 1 : 0;
}
