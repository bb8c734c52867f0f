import { unpackText } from "../domain/packed-text.ts";
import type { ApplyData, BenchData, BuildData, KernelBuild } from "../domain/results.ts";
import type { Series } from "../domain/series.ts";
import type { TypedStageResult } from "../domain/stage-result-schema.ts";
import { writeMboxrd } from "../ingest/mail/write-mboxrd.ts";
import type { SampleRow } from "../web/render-samples-csv.ts";
import { renderSamplesCsv } from "../web/render-samples-csv.ts";

export const BUNDLE_FORMAT = "patchbench-bundle/1";

/** Everything the store knows about one flow, as the bundle needs it. */
export interface BundleInput {
  flow: { id: string; tree: string; base: string | null; status: string; createdAt: string; finishedAt: string | null };
  series: Series;
  /** The series' raw mails by Message-ID (as received). */
  rawMails: ReadonlyMap<string, Uint8Array>;
  results: readonly TypedStageResult[];
  /** Stored results that no longer parse, by stage. */
  resultErrors: readonly { stage: string; reason: string }[];
  samples: readonly (SampleRow & { values_json: string })[];
  tool: { name: string; version: string };
  createdAt: string;
}

export interface BundleFile {
  path: string;
  content: string | Uint8Array;
}

export interface ReproBundle {
  files: BundleFile[];
  /** What the bundle could not carry, in words (also in its README). */
  gaps: string[];
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

function stageData<T>(results: readonly TypedStageResult[], stage: string): T | null {
  return (results.find((r) => r.stage === stage)?.data as T | undefined) ?? null;
}

/** The series' patches 1..N as mailed (what `git am` takes: a cover letter has no patch), and its cover. */
function seriesMails(s: Series, raw: ReadonlyMap<string, Uint8Array>): { patches: Uint8Array[]; cover: Uint8Array | null; missing: string[] } {
  const patches: Uint8Array[] = [];
  const missing: string[] = [];
  for (const id of [...s.patches].sort((a, b) => a.index - b.index).map((p) => p.messageId)) {
    const m = raw.get(id);
    if (m) patches.push(m);
    else missing.push(id);
  }
  const cover = s.cover ? (raw.get(s.cover.messageId) ?? null) : null;
  if (s.cover && !cover) missing.unshift(s.cover.messageId);
  return { patches, cover, missing };
}

function kernelConfig(label: "base" | "candidate", k: KernelBuild | null, gaps: string[]): BundleFile | null {
  if (!k?.dotConfig) {
    if (k?.ok) gaps.push(`the ${label} kernel's .config was not recorded (built before patchbench kept it)`);
    return null;
  }
  try {
    return { path: `kernel-${label}.config`, content: unpackText(k.dotConfig) };
  } catch (e) {
    gaps.push(`the ${label} kernel's stored .config is damaged: ${(e as Error).message}`);
    return null;
  }
}

/**
 * Pure: the reproduction bundle of one flow — the series as mailed, the base and head, the exact
 * kernel configs, the commands of every run in order, the machine profile and every raw result —
 * so someone without patchbench's store can check the numbers on their own box.
 */
export function planReproBundle(i: BundleInput): ReproBundle {
  const gaps: string[] = i.resultErrors.map((e) => `the stored ${e.stage} result: ${e.reason}`);
  const apply = stageData<ApplyData>(i.results, "apply");
  const build = stageData<BuildData>(i.results, "build");
  const bench = stageData<BenchData>(i.results, "bench");
  const { patches, cover, missing } = seriesMails(i.series, i.rawMails);
  if (missing.length > 0) gaps.push(`${missing.length} mail(s) of the series are not in the store: ${missing.join(", ")}`);
  if (!apply) gaps.push("no apply result: the base and head commits are unknown");

  const configs = [kernelConfig("base", build?.base ?? null, gaps), kernelConfig("candidate", build?.candidate ?? null, gaps)].filter((f): f is BundleFile => f !== null);
  const manifest = {
    format: BUNDLE_FORMAT,
    tool: i.tool,
    createdAt: i.createdAt,
    flow: { id: i.flow.id, status: i.flow.status, createdAt: i.flow.createdAt, finishedAt: i.flow.finishedAt },
    series: {
      id: i.series.id,
      title: i.series.title,
      version: i.series.version,
      author: i.series.author,
      messageIds: [...(i.series.cover ? [i.series.cover.messageId] : []), ...i.series.patches.map((p) => p.messageId)],
    },
    tree: { name: i.flow.tree, origin: apply?.origin ?? null, branch: apply?.branch ?? null },
    base: apply?.baseCommit ?? i.flow.base,
    baseRule: apply?.baseRule ?? null,
    head: apply?.head ?? null,
    kernels: Object.fromEntries(
      (["base", "candidate"] as const).flatMap((label) => {
        const k = build?.[label];
        return k ? [[label, { commit: k.commit, configSha256: k.dotConfig?.sha256 ?? null, buildConfig: build.config }]] : [];
      }),
    ),
    stages: i.results.map((r) => ({ stage: r.stage, status: r.status, summary: r.summary, startedAt: r.startedAt, endedAt: r.endedAt, runner: r.runner })),
    gaps,
  };

  const files: BundleFile[] = [
    { path: "manifest.json", content: json(manifest) },
    ...(cover ? [{ path: "cover.eml", content: cover }] : []),
    ...(patches.length > 0 ? [{ path: "series.mbox", content: writeMboxrd(patches) }] : []),
    ...configs,
    { path: "results.json", content: json({ results: i.results, errors: i.resultErrors }) },
  ];
  if (bench) {
    files.push({ path: "commands.txt", content: `${bench.commands.join("\n")}\n` });
    files.push({ path: "machine-profile.json", content: json(bench.profile) });
  }
  if (i.samples.length > 0) {
    files.push({ path: "samples.csv", content: renderSamplesCsv(i.samples) });
    files.push({ path: "samples.json", content: json(i.samples.map((s) => ({ ...s, values_json: undefined, values: JSON.parse(s.values_json) as unknown }))) });
  }
  files.unshift({ path: "README.txt", content: renderBundleReadme(manifest, files.map((f) => f.path), gaps, i.series.kind === "tip") });
  return { files, gaps };
}

const WHAT: Record<string, string> = {
  "manifest.json": "flow, series, tree, base and head commits, kernels and stages",
  "cover.eml": "the cover letter as mailed",
  "series.mbox": "the patches as mailed (mboxrd): `git am` applies them",
  "kernel-base.config": "the exact .config of the base kernel",
  "kernel-candidate.config": "the exact .config of the candidate kernel",
  "results.json": "every stage result as stored (bench samples are in samples.*)",
  "commands.txt": "one run of each bench cell, in order, as the runner ran them",
  "machine-profile.json": "the machine the bench ran on (CPU, kernel, tuning, guest sysctls)",
  "samples.csv": "every netperf run in run order, set-aside runs with their reason",
  "samples.json": "the same runs with every value netperf printed",
};

function renderBundleReadme(
  m: { flow: { id: string }; tree: { name: string; origin: string | null }; base: string | null; head: string | null },
  paths: string[],
  gaps: string[],
  tip: boolean,
): string {
  const lines = [
    `Reproduction bundle of patchbench flow ${m.flow.id}`,
    "",
    "Files:",
    ...["README.txt", ...paths].map((p) => `  ${p.padEnd(24)} ${p === "README.txt" ? "this file" : (WHAT[p] ?? "")}`.trimEnd()),
    "",
    "By hand:",
    `  git clone ${m.tree.origin ?? `<${m.tree.name} tree>`} linux && cd linux`,
    ...(tip
      ? [
          // A tree tip has no patches: base and candidate are the tree's own commits.
          `  git checkout ${m.base ?? "<base: see manifest.json>"}   # the previous measured tip (base)`,
          `  git checkout ${m.head ?? "<head: see manifest.json>"}   # the tip measured (candidate)`,
        ]
      : [
          `  git checkout ${m.base ?? "<base: unknown, see manifest.json>"}`,
          "  git am --patch-format=mboxrd ../series.mbox",
          ...(m.head ? [`  # patchbench applied it as ${m.head.slice(0, 12)}; your commit ids differ (git am stamps the time)`] : []),
        ]),
    ...(paths.includes("kernel-candidate.config")
      ? ["  cp ../kernel-candidate.config .config && make olddefconfig && make -j$(nproc) bzImage", "  (the base kernel: the same at the base commit with kernel-base.config)"]
      : [
          "  make <base config> and merge the fragments and extras named in manifest.json",
          "  (kernels.*.buildConfig; fragments are patchbench's files), then make -j$(nproc) bzImage",
        ]),
    "  Boot each kernel as in patchbench's README \"Kernel A/B\", then run commands.txt inside it.",
    "",
    ...(tip ? [] : ["With patchbench, the whole flow again as a fresh run:", `  patchbench review series.mbox --tree ${m.tree.name} --rerun`]),
  ];
  if (gaps.length > 0) lines.push("", "Not in this bundle:", ...gaps.map((g) => `  - ${g}`));
  return `${lines.join("\n")}\n`;
}
