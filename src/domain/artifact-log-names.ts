/**
 * The log files a runner keeps in a flow's artifacts folder (`<workDir>/artifacts/<flow>/`), by name.
 * One place for the runner that writes them and the dashboard that serves them: the dashboard
 * serves no file whose name is not one of these.
 */

/** A side's name as a bench plan has it (config variants, /bench arms): never a path. */
const SIDE = "[A-Za-z0-9_.=+-]{1,40}";

/** The console of the n-th boot (1, 2, …) of a bench side's guest: each boot's is kept. */
export function benchConsoleName(side: string, boot: number): string {
  return `console-bench-${side}-${boot}.log`;
}

/**
 * Every log name served from a flow's folder: the kernel builds, the build stage's boots (QEMU
 * serial console, the QEMU process's own log, an ssh boot's session), the selftest guests'
 * consoles, each bench guest boot's console, and a side's console as runners before per-boot
 * consoles kept it. Nothing with a "/" and nothing that starts with ".".
 */
export const ARTIFACT_LOG_PATTERNS: readonly RegExp[] = [
  /^build-(base|candidate)\.log$/,
  /^(console|qemu|ssh)-(base|candidate|running)\.log$/,
  /^(console|qemu)-kselftests-(base|candidate)\.log$/,
  new RegExp(`^console-bench-${SIDE}-[1-9][0-9]{0,3}\\.log$`),
  new RegExp(`^(console|qemu)-${SIDE}\\.log$`),
];

export function isArtifactLogName(name: string): boolean {
  return name.length <= 80 && ARTIFACT_LOG_PATTERNS.some((p) => p.test(name));
}
