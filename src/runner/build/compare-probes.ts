import type { BootRun, BuildData } from "../../domain/results.ts";

/**
 * Pure: probe results that differ between the base and the candidate
 * kernel. "Unsupported on base, supported on candidate" is a first-class
 * result (a feature the series adds), not a failure of the base.
 */
export function compareProbes(base: BootRun | undefined, candidate: BootRun | undefined): BuildData["probeChanges"] {
  if (!base || !candidate) return [];
  const names = [...new Set([...base.probes, ...candidate.probes].map((p) => p.name))];
  const out: BuildData["probeChanges"] = [];
  for (const name of names) {
    const b = base.probes.find((p) => p.name === name)?.status ?? null;
    const c = candidate.probes.find((p) => p.name === name)?.status ?? null;
    if (b === c) continue;
    const note =
      (b === "fail" || b === "skip") && c === "pass"
        ? "unsupported on base, supported on candidate"
        : b === "pass" && (c === "fail" || c === "skip")
          ? "works on base, broken on candidate"
          : `${b ?? "absent"} on base, ${c ?? "absent"} on candidate`;
    out.push({ name, base: b, candidate: c, note });
  }
  return out;
}
