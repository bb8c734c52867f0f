import type { BootConfig } from "../../config/schema.ts";
import { benchConsoleName } from "../../domain/artifact-log-names.ts";
import type { Topology, Variant, VariantSetting } from "../../domain/bench.ts";
import type { BootEvery, BootOutcome, BuildData } from "../../domain/results.ts";
import type { Logger } from "../../lib/logger.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import { bootSshGuest } from "../boot/ssh-guest.ts";
import { bootGuest } from "../guest/boot-guest.ts";
import { type GuestSideSession, openGuestSide } from "../guest/guest-side-session.ts";
import { bootPerSide, freeSlot, oneKernelSlot } from "../guest/boot-per-side.ts";
import { freshBootPerRound } from "../guest/fresh-boot-per-round.ts";
import { rebootOnce } from "../guest/reboot-once.ts";
import { infraError } from "../../lib/errors.ts";

export type KernelRef = "base" | "candidate";

/**
 * Pure: the sides of a kernel A/B — the same settings on the base and on the candidate kernel,
 * then each arm: the candidate kernel with those settings plus its own (an arm's sysctl
 * replaces a shared one with the same key, so "busy_read=50" means what it says).
 */
export function kernelVariants(settings: readonly VariantSetting[], arms: readonly { name: string; settings: readonly VariantSetting[] }[] = []): Variant[] {
  const shared = settings.filter((s) => s.kind !== "kernel");
  const armSides = arms.map((a): Variant => {
    const own = a.settings.filter((s) => s.kind !== "kernel");
    const keys = new Set(own.flatMap((s) => (s.kind === "sysctl" ? [s.key] : [])));
    const kept = shared.filter((s) => s.kind !== "sysctl" || !keys.has(s.key));
    return { name: a.name, settings: [{ kind: "kernel", ref: "candidate" }, ...kept, ...own] };
  });
  return [
    { name: "base", settings: [{ kind: "kernel", ref: "base" }, ...shared] },
    { name: "candidate", settings: [{ kind: "kernel", ref: "candidate" }, ...shared] },
    ...armSides,
  ];
}

/** Pure: which kernel a side boots (null: the runner's own). */
export function kernelOf(v: Variant): KernelRef | null {
  for (const s of v.settings) if (s.kind === "kernel") return s.ref;
  return null;
}

/** A kernel that did not come up as a guest, with what its console said. */
export interface GuestBootFailure {
  kernel: KernelRef;
  outcome: BootOutcome;
  reason: string;
  consoleTail: string;
}

export type KernelSidesResult =
  /** `restore`: an ssh target is switched back to its default kernel (call it after closing the sessions). */
  | { ok: true; sessions: GuestSideSession[]; restore: () => Promise<string | null> }
  /** `seriesFault`: the candidate failed while the base came up (a panic or oops, or no init). */
  | { ok: false; failures: GuestBootFailure[]; seriesFault: boolean };

/** Pure: whose fault boot failures are. The candidate alone failing is the series'; both failing is the runner's. */
export function bootFaultOf(failures: readonly GuestBootFailure[]): boolean {
  return failures.length > 0 && failures.every((f) => f.kernel === "candidate" && f.outcome !== "error");
}

/**
 * Boot each side's kernel as a guest and open its session (topologies,
 * netserver and settings inside it). A guest is paused while another side
 * measures; with `bootEvery: "round"` each side boots afresh when it enters a
 * new round (freshBootPerRound), with "job" its guest stays up for the whole
 * job; with "side" one kernel is up at a time and each change of side boots
 * the side's kernel (bootPerSide, as a target that holds one kernel does).
 * A guest that dies mid-job is booted again once (rebootOnce, per boot).
 * On any failure every guest already started is shut down before returning.
 */
export async function openKernelSides(o: {
  variants: readonly Variant[];
  build: BuildData;
  boot: BootConfig;
  topologies: readonly Topology[];
  pinning: { local: number; remote: number } | null;
  artifactsDir: string;
  log: Logger;
  /** A fresh boot of every side for each round (default), one boot per job, or one kernel up at a time. */
  bootEvery?: BootEvery;
  /** Where QEMU runs (the candidate kernel is the series' code). */
  sandbox?: Sandbox;
  signal?: AbortSignal;
}): Promise<KernelSidesResult> {
  const sessions: GuestSideSession[] = [];
  const failures: GuestBootFailure[] = [];
  // A bare-metal box holds one kernel: every change of side is a switch (kexec) of the machine.
  const ssh = o.boot.target === "ssh";
  const bootEvery: BootEvery | undefined = ssh ? "side" : o.bootEvery;
  let restoreSsh: (() => Promise<string>) | null = null;
  const restore = async (): Promise<string | null> => {
    const r = restoreSsh;
    restoreSsh = null;
    return r ? r() : null;
  };
  const cameUp = new Set<KernelRef>();
  const slot = oneKernelSlot();
  const images = { base: o.build.base?.image ?? null, candidate: o.build.candidate?.image ?? null };
  const boots = new Map<string, number>();
  /** Boot one side's kernel and open its session; a failure to come up is returned, not thrown. */
  const bootSide = async (v: Variant, ref: KernelRef, image: string): Promise<GuestSideSession | GuestBootFailure> => {
    // Each boot's console is kept: the one before a reboot may hold the panic that made it.
    const n = (boots.get(v.name) ?? 0) + 1;
    boots.set(v.name, n);
    const sig = o.signal ? { signal: o.signal } : {};
    const viaSsh = async () => {
      const s = await bootSshGuest(o.boot.ssh, { label: v.name, image, artifactsDir: o.artifactsDir, consoleName: benchConsoleName(v.name, n), ...sig });
      if (s.ok) restoreSsh = s.restore;
      return s;
    };
    const r = ssh
      ? await viaSsh()
      : await bootGuest({
          label: v.name,
          consoleName: benchConsoleName(v.name, n),
          kernel: image,
          qemu: o.boot.qemu,
          timeoutMs: o.boot.timeoutSec * 1000,
          artifactsDir: o.artifactsDir,
          ...(o.sandbox ? { sandbox: o.sandbox } : {}),
          ...sig,
        });
    if (!r.ok) return { kernel: ref, outcome: r.outcome, reason: r.reason, consoleTail: r.consoleTail };
    o.log.info({ side: v.name, kernel: r.guest.kernelRelease, bootMs: r.guest.bootMs, accel: r.guest.accel }, "guest booted");
    try {
      return await openGuestSide({ variant: v, guest: r.guest, topologies: o.topologies, pinning: o.pinning, guestCpus: o.boot.qemu.cpus, log: o.log });
    } catch (e) {
      await r.guest.shutdown().catch(() => undefined);
      throw e;
    }
  };
  for (const v of o.variants) {
    const ref = kernelOf(v);
    if (ref === null) throw new Error(`side ${v.name} names no kernel`);
    const image = images[ref];
    if (!image) {
      failures.push({ kernel: ref, outcome: "error", reason: `no ${ref} kernel image from the build stage`, consoleTail: "" });
      continue;
    }
    // An arm boots the candidate kernel again: once it failed to come up, it is not tried twice.
    const failedBefore = failures.find((f) => f.kernel === ref);
    if (failedBefore) continue;
    let first: GuestSideSession | GuestBootFailure;
    try {
      if (bootEvery === "side") await freeSlot(slot);
      first = await bootSide(v, ref, image);
    } catch (e) {
      for (const s of sessions) await s.close();
      await restore();
      throw e;
    }
    if ("kernel" in first) {
      failures.push(first);
      continue;
    }
    const bootAgain = (why: string) => async () => {
      const again = await bootSide(v, ref, image);
      if ("kernel" in again) throw infraError(`the ${v.name} kernel did not come up again ${why}: ${again.outcome} (${again.reason})`);
      return again;
    };
    const reopen = bootAgain("after its guest died");
    cameUp.add(ref);
    const once = rebootOnce(first, reopen, o.log);
    const again = async () => rebootOnce(await bootAgain(bootEvery === "side" ? "for its turn" : "for its next round")(), reopen, o.log);
    sessions.push(bootEvery === "job" ? once : bootEvery === "side" ? bootPerSide(once, again, slot, o.log) : freshBootPerRound(once, again, o.log));
  }
  if (failures.length > 0) {
    for (const s of sessions) await s.close();
    await restore();
    // The candidate kernel came up for one side but not for an arm: a flaky boot, not the series.
    return { ok: false, failures, seriesFault: bootFaultOf(failures) && !cameUp.has("candidate") };
  }
  return { ok: true, sessions, restore };
}
