import type { BootRun } from "../../domain/results.ts";

export const GUEST_PROBES = ["tcp-loopback-round-trip", "so-busy-poll-setsockopt"] as const;

export interface BootRequest {
  /** The kernel to boot; null = the target's current kernel (the host target only takes null). */
  kernel: { label: "base" | "candidate"; image: string } | null;
  /** The static in-guest probe binary (see guest-probe.c). */
  probe: string;
  timeoutMs: number;
  /** Per-job folder for consoles and artifacts. */
  artifactsDir: string;
  signal?: AbortSignal;
}

/**
 * Every boot target (host, qemu, ssh) has this one shape: boot the kernel,
 * run the probe, collect, come back. Nothing thrown for a kernel that does
 * not boot: that is a BootRun with its outcome and console tail.
 */
export interface BootTarget {
  kind: BootRun["target"];
  run(req: BootRequest): Promise<BootRun>;
}
