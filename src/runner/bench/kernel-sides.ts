import type { BootConfig } from "../../config/schema.ts";
import type { Topology, Variant, VariantSetting } from "../../domain/bench.ts";
import type { BootOutcome, BuildData } from "../../domain/results.ts";
import type { Logger } from "../../lib/logger.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import { bootGuest } from "../guest/boot-guest.ts";
import { type GuestSideSession, openGuestSide } from "../guest/guest-side-session.ts";

export type KernelRef = "base" | "candidate";

/** Pure: the two sides of a kernel A/B — the same settings on the base and on the candidate kernel. */
export function kernelVariants(settings: readonly VariantSetting[]): [Variant, Variant] {
  const shared = settings.filter((s) => s.kind !== "kernel");
  return [
    { name: "base", settings: [{ kind: "kernel", ref: "base" }, ...shared] },
    { name: "candidate", settings: [{ kind: "kernel", ref: "candidate" }, ...shared] },
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
  | { ok: true; sessions: GuestSideSession[] }
  /** `seriesFault`: the candidate failed while the base came up (a panic or oops, or no init). */
  | { ok: false; failures: GuestBootFailure[]; seriesFault: boolean };

/** Pure: whose fault boot failures are. The candidate alone failing is the series'; both failing is the runner's. */
export function bootFaultOf(failures: readonly GuestBootFailure[]): boolean {
  return failures.length === 1 && failures[0]!.kernel === "candidate" && failures[0]!.outcome !== "error";
}

/**
 * Boot each side's kernel once as a guest and open its session (topologies,
 * netserver and settings inside it). The guests stay up for the whole job,
 * paused while the other side measures. On any failure every guest already
 * started is shut down before returning.
 */
export async function openKernelSides(o: {
  variants: readonly Variant[];
  build: BuildData;
  boot: BootConfig;
  topologies: readonly Topology[];
  pinning: { local: number; remote: number } | null;
  artifactsDir: string;
  log: Logger;
  /** Where QEMU runs (the candidate kernel is the series' code). */
  sandbox?: Sandbox;
  signal?: AbortSignal;
}): Promise<KernelSidesResult> {
  const sessions: GuestSideSession[] = [];
  const failures: GuestBootFailure[] = [];
  const images = { base: o.build.base?.image ?? null, candidate: o.build.candidate?.image ?? null };
  for (const v of o.variants) {
    const ref = kernelOf(v);
    if (ref === null) throw new Error(`side ${v.name} names no kernel`);
    const image = images[ref];
    if (!image) {
      failures.push({ kernel: ref, outcome: "error", reason: `no ${ref} kernel image from the build stage`, consoleTail: "" });
      continue;
    }
    const r = await bootGuest({
      label: v.name,
      kernel: image,
      qemu: o.boot.qemu,
      timeoutMs: o.boot.timeoutSec * 1000,
      artifactsDir: o.artifactsDir,
      ...(o.sandbox ? { sandbox: o.sandbox } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    if (!r.ok) {
      failures.push({ kernel: ref, outcome: r.outcome, reason: r.reason, consoleTail: r.consoleTail });
      continue;
    }
    o.log.info({ side: v.name, kernel: r.guest.kernelRelease, bootMs: r.guest.bootMs, accel: r.guest.accel }, "guest booted");
    try {
      sessions.push(
        await openGuestSide({ variant: v, guest: r.guest, topologies: o.topologies, pinning: o.pinning, guestCpus: o.boot.qemu.cpus, log: o.log }),
      );
    } catch (e) {
      await r.guest.shutdown().catch(() => undefined);
      for (const s of sessions) await s.close();
      throw e;
    }
  }
  if (failures.length > 0) {
    for (const s of sessions) await s.close();
    return { ok: false, failures, seriesFault: bootFaultOf(failures) };
  }
  return { ok: true, sessions };
}
