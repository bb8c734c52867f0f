import type { VariantSetting } from "./bench.ts";

/**
 * BPF programs an arm takes from the series itself: a file of the candidate tree's BPF
 * selftests, compiled by the build stage (in the sandbox) and attached inside the candidate's
 * guest. The name is all a config or a `/bench` comment gives; the path is always this folder.
 */
export const SERIES_BPF_PROGS_DIR = "tools/testing/selftests/bpf/progs";

/** A program's name: its file name without `.c` (no path, no dots). */
export const SERIES_BPF_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

/** Pure: the source of a named program, relative to the tree. */
export function seriesBpfSource(name: string): string {
  if (!SERIES_BPF_NAME.test(name)) throw new Error(`not a BPF program name: ${JSON.stringify(name)}`);
  return `${SERIES_BPF_PROGS_DIR}/${name}.c`;
}

/** What the build stage made of one named program. */
export interface SeriesBpfObject {
  name: string;
  /** The source, relative to the tree. */
  source: string;
  /** The compiled object on the runner (under the flow's artifacts), or null when it did not build. */
  object: string | null;
  sha256: string | null;
  /** Why there is no object (missing in the candidate tree, clang's error, no BTF for vmlinux.h). */
  problem: string | null;
}

/** A setting whose object is a program of the series (to be built), not a file on the runner. */
export const fromSeries = <S extends { kind: string; source?: unknown }>(s: S): s is S & { kind: "bpf-cgroup" | "tc-bpf"; source: "series"; object: string } =>
  (s.kind === "bpf-cgroup" || s.kind === "tc-bpf") && s.source === "series";

/** Pure: the programs the arms take from the series, each once, in order. */
export function seriesBpfNames(arms: readonly { settings: readonly VariantSetting[] }[]): string[] {
  return [...new Set(arms.flatMap((a) => a.settings.filter(fromSeries).map((s) => s.object)))];
}

export interface ResolvedArms<A> {
  /** The arms whose programs were all built, with each series program's object path in place. */
  arms: A[];
  /** The arms left out, and why (one line each, for the report). */
  dropped: { name: string; why: string }[];
}

/**
 * Pure: put the built objects in place of the series programs' names. An arm with a program
 * that did not build (or was not built) is left out with the reason: it cannot be measured,
 * and the base-vs-candidate comparison does not depend on it.
 */
export function resolveSeriesBpf<A extends { name: string; settings: readonly VariantSetting[] }>(
  arms: readonly A[],
  built: readonly SeriesBpfObject[],
): ResolvedArms<A> {
  const out: ResolvedArms<A> = { arms: [], dropped: [] };
  for (const arm of arms) {
    const problems: string[] = [];
    const settings = arm.settings.map((s): VariantSetting => {
      if (!fromSeries(s)) return s;
      const b = built.find((x) => x.name === s.object);
      if (!b?.object) {
        problems.push(`${seriesBpfSource(s.object)}: ${b?.problem ?? "not built by this flow's build stage"}`);
        return s;
      }
      return { ...s, object: b.object, source: "runner", builtFrom: b.source };
    });
    if (problems.length > 0) out.dropped.push({ name: arm.name, why: `arm ${arm.name} not measured: ${problems.join("; ")}` });
    else out.arms.push({ ...arm, settings });
  }
  return out;
}
