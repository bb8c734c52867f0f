import { isCapRefusal } from "../domain/series-caps.ts";
import type { Variant } from "../domain/bench.ts";
import { cellKey } from "../domain/bench.ts";
import type { ApplyData, BenchData, BuildData, SelftestsData, Stage, StageResult } from "../domain/results.ts";
import type { Series } from "../domain/series.ts";
import { combineStatus, type Status } from "../domain/status.ts";
import type { MatrixAnalysis } from "../stats/analyze-matrix.ts";
import { checkClaimsAgainst, type SeriesClaimCheck } from "../stats/claims/check-series-claims.ts";
import { describeVersionChanges } from "./describe-version-changes.ts";
import { hasResults, summarizeVersion, type VersionSummary } from "./version-summary.ts";
import type { Report, ReportArm, ReportCell, ReportComparison, SideSummary } from "./report.ts";

export interface ArmAnalysis {
  variant: string;
  vsCandidate: MatrixAnalysis;
  vsBase: MatrixAnalysis;
}

function formatRatio(r: number): string {
  return r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`;
}

function side(bench: BenchData, key: string, variant: string): SideSummary {
  // Runs replaced by a re-measured pair do not count (as in the analysis).
  const ss = bench.samples.filter((s) => cellKey(s.cell) === key && s.variant === variant && s.superseded === undefined);
  const rounds = new Map<number, number[]>();
  let failed = 0;
  for (const s of ss) {
    if (!s.ok || !Number.isFinite(s.throughput)) {
      failed++;
      continue;
    }
    const r = rounds.get(s.round) ?? [];
    r.push(s.throughput);
    rounds.set(s.round, r);
  }
  const values = [...rounds.values()].map((r) => r.reduce((a, b) => a + b, 0) / r.length);
  const logs = values.map(Math.log);
  const gm = values.length ? Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length) : Number.NaN;
  const m = values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;
  const sd =
    values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1)) : Number.NaN;
  return { variant, mean: gm, cv: sd / m, rounds: values.length, runs: ss.length - failed, failedRuns: failed };
}

/** An arm's effect in a few words: the cells it sped up or slowed down, else what the cells were. */
function armWords(cells: readonly ReportCell[]): string {
  const n = cells.length;
  const better = cells.filter((x) => x.analysis.verdict === "improvement");
  const worse = cells.filter((x) => x.analysis.verdict === "regression");
  const out: string[] = [];
  if (better.length > 0) out.push(`${better.length} of ${n} cells faster, up to ${formatRatio(Math.max(...better.map((x) => x.analysis.ratio)))}`);
  if (worse.length > 0) out.push(`${worse.length} of ${n} cells slower, down to ${formatRatio(Math.min(...worse.map((x) => x.analysis.ratio)))}`);
  if (out.length === 0) out.push(`no cell changed (${[...new Set(cells.map((x) => x.analysis.verdict))].join(", ") || "no cells"})`);
  return out.join(", ");
}

/** The verdict in words, first line of every rendering. */
export function headlineOf(r: Omit<Report, "headline">): string {
  if (r.notRun) return r.notRun;
  const apply = r.apply;
  if (apply?.status === "fail") {
    const d = apply.data;
    if (d.rejected.length > 0) return `patch ${d.rejected[0]?.patch} refused: ${d.rejected[0]?.reason}`;
    return `does not apply to ${d.tree} at ${d.baseCommit?.slice(0, 12) ?? "?"} (patch ${d.failure?.patch})`;
  }
  const failedTests = r.selftests?.data.tests.filter((t) => t.status === "fail") ?? [];
  const parts: string[] = [];
  if (r.build?.status === "fail") parts.push(r.build.summary);
  else if (r.build && r.build.data.newWarnings.length > 0) parts.push(`${r.build.data.newWarnings.length} new build warning(s)`);
  const checkErrors = (apply?.data.checks ?? []).filter((c) => c.status === "fail").map((c) => c.id);
  if (checkErrors.length > 0) parts.push(`${checkErrors.join(", ")} failed`);
  if (failedTests.length > 0) parts.push(`${failedTests.length} selftest(s) failed`);
  if (r.bench) {
    const c = r.bench.counts;
    const n = r.bench.cells.length;
    const better = r.bench.cells.filter((x) => x.analysis.verdict === "improvement");
    const worse = r.bench.cells.filter((x) => x.analysis.verdict === "regression");
    // Cells that could tell: shown unchanged or faster. Noisy and inconclusive ones saw nothing either way.
    const decided = c["no change"] + better.length;
    if (worse.length > 0) {
      const worst = Math.min(...worse.map((x) => x.analysis.ratio));
      parts.push(`${worse.length} of ${n} cells regressed, down to ${formatRatio(worst)}`);
    } else if (decided > 0) parts.push(decided === n ? "no regressions" : `no regressions in ${decided} of ${n} cells`);
    else {
      // No cell could tell: say what the run could not have seen rather than "no regressions".
      const mdes = r.bench.cells.map((x) => x.analysis.mde).filter(Number.isFinite);
      const mde = mdes.length > 0 ? Math.min(...mdes) * 100 : Number.NaN;
      parts.push(
        !Number.isFinite(mde)
          ? "no regression seen, none ruled out"
          : mde > 100
            ? "no regression seen; this run could not have seen even a 100% change"
            : `no regression seen; this run could not have seen a change under ${mde.toFixed(0)}%`,
      );
    }
    if (better.length > 0) {
      const best = Math.max(...better.map((x) => x.analysis.ratio));
      parts.push(`${better.length} of ${n} cells faster, up to ${formatRatio(best)}`);
    }
    if (c["no change"] > 0) parts.push(`${c["no change"]} unchanged`);
    if (c.inconclusive > 0) parts.push(`${c.inconclusive} inconclusive`);
    if (c.noisy > 0) parts.push(`${c.noisy} noisy`);
    for (const arm of r.bench.arms ?? []) parts.push(`arm ${arm.name} vs candidate: ${armWords(arm.vsCandidate.cells)}`);
  }
  if (r.errors.length > 0) parts.push(`${r.errors.map((e) => e.stage).join(", ")} could not run (infrastructure)`);
  if (parts.length === 0) return r.status === "pass" ? "all checks passed" : `status: ${r.status}`;
  return parts.join("; ");
}

export interface BuildReportInput {
  id: string;
  series: Series;
  results: StageResult[];
  errors: { stage: Stage; reason: string }[];
  analysis: MatrixAnalysis | null;
  /** Each arm's analyses against the plain candidate and against the base (variant order of the bench). */
  armAnalyses?: ArmAnalysis[];
  generatedAt: string;
  tool: { name: string; version: string };
  /** Claim check computed by the caller; default: computed here from series.text and the bench cells. */
  claims?: SeriesClaimCheck[];
  /** The newest earlier version of the series that ran, for the "Since vN" section; null or absent: none. */
  previous?: VersionSummary | null;
}

/** Pure: this version against the previous one that ran; absent when there is none or this one ran nothing. */
function sinceOf(input: BuildReportInput): Report["since"] {
  if (!input.previous) return undefined;
  const cells = (input.analysis?.cells ?? []).map((c) => ({ key: c.key, verdict: c.analysis.verdict, ratio: c.analysis.ratio }));
  const current = summarizeVersion(input.series.version, input.results, cells);
  if (!hasResults(current)) return undefined;
  return { version: input.previous.version, changes: describeVersionChanges(input.previous, current) };
}

/** Pure: the series' claims against the measured cells (noisy cells and cells without a CI count as unmeasured). */
export function claimChecksOf(series: Series, bench: Report["bench"]): SeriesClaimCheck[] {
  if (!bench || !series.text) return [];
  const [va, vb] = bench.variants;
  const kernelRef = (v: Variant) => v.settings.find((s) => s.kind === "kernel")?.ref ?? null;
  const kernels = kernelRef(va) === "base" && kernelRef(vb) === "candidate";
  const measured = (cells: readonly ReportCell[]) =>
    cells.flatMap((c) =>
      c.analysis.ci95 !== null && c.analysis.verdict !== "noisy"
        ? [{ test: c.cell.test, topology: c.cell.topology, size: c.cell.size, ratio: c.analysis.ratio, ci95: c.analysis.ci95 }]
        : [],
    );
  // An arm answers "baseline vs feature" claims: the plain candidate against the arm, under the names the config gives.
  const arms = (bench.arms ?? []).map((a) => ({
    cmp: { a: a.claimedAs?.from ?? "candidate", b: a.claimedAs?.to ?? a.name, kernels: false },
    cells: measured(a.vsCandidate.cells),
  }));
  return checkClaimsAgainst(series.text, [{ cmp: { a: va.name, b: vb.name, kernels }, cells: measured(bench.cells) }, ...arms]);
}


/** Pure: one A -> B comparison's cells, in the plan's order (tests, topologies, sizes), not the shuffled run order. */
function comparisonOf(data: BenchData, variants: [Variant, Variant], analysis: MatrixAnalysis): ReportComparison {
  const cells: ReportCell[] = [];
  for (const cell of data.cells) {
    const c = analysis.cells.find((x) => x.key === cellKey(cell));
    if (!c) continue;
    cells.push({
      cell,
      metric: "THROUGHPUT",
      unit: cell.test === "TCP_STREAM" ? "Mbit/s" : "tps",
      a: side(data, c.key, variants[0].name),
      b: side(data, c.key, variants[1].name),
      analysis: c.analysis,
    });
  }
  return { variants, cells, counts: analysis.counts };
}

/** Pure: stored results + their analysis → one Report value. */
export function buildReport(input: BuildReportInput): Report {
  const { series } = input;
  // A stage skipped because an earlier one failed carries no data. Results
  // reach here checked by their stage's schema (queue and store boundaries).
  const find = <T>(stage: Stage) =>
    (input.results.find((r) => r.stage === stage && r.data !== null && r.data !== undefined) as StageResult<T> | undefined) ??
    null;
  const apply = find<ApplyData>("apply");
  const selftests = find<SelftestsData>("selftests");
  const build = find<BuildData>("build");
  const benchStage = find<BenchData>("bench");
  let bench: Report["bench"] = null;
  if (benchStage && benchStage.status !== "skip" && input.analysis && benchStage.data.variants.length >= 2) {
    const data = benchStage.data;
    const variant = (name: string) => data.variants.find((v) => v.name === name);
    const [base, candidate] = data.variants as [Variant, Variant];
    const arms: ReportArm[] = [];
    for (const a of input.armAnalyses ?? []) {
      const v = variant(a.variant);
      if (!v) continue;
      arms.push({
        name: a.variant,
        claimedAs: data.arms?.find((x) => x.variant === a.variant)?.claimedAs ?? null,
        vsCandidate: comparisonOf(data, [candidate, v], a.vsCandidate),
        vsBase: comparisonOf(data, [base, v], a.vsBase),
      });
    }
    bench = { stage: benchStage, ...comparisonOf(data, [base, candidate], input.analysis), ...(arms.length ? { arms } : {}) };
  }
  const statuses: Status[] = input.results.map((r) => r.status);
  for (const _ of input.errors) statuses.push("error");
  if (bench?.cells.some((c) => c.analysis.verdict === "regression")) statuses.push("warn");
  // Answer this version's own mails: a cover or patch carried from the previous version is that version's thread.
  const cover = series.cover?.carriedFrom === undefined ? series.cover : null;
  const last = series.patches.filter((p) => p.carriedFrom === undefined).at(-1);
  const anchor = cover ?? (last ? { messageId: last.messageId, subject: last.subject } : null);
  const notRun = input.results.find((r) => r.status === "skip" && isCapRefusal(r.summary))?.summary;
  const since = notRun ? undefined : sinceOf(input);
  const partial: Omit<Report, "headline"> = {
    ...(notRun ? { notRun } : {}),
    id: input.id,
    series: {
      id: series.id,
      title: series.title,
      version: series.version,
      tree: series.tree,
      author: series.author,
      rfc: series.rfc,
      total: series.total,
      cover: series.cover,
      patches: series.patches,
    },
    thread: {
      subject: anchor ? (/^re:/i.test(anchor.subject) ? anchor.subject : `Re: ${anchor.subject}`) : `Re: ${series.title}`,
      inReplyTo: anchor?.messageId ?? null,
      references: anchor ? [anchor.messageId] : [],
    },
    status: combineStatus(statuses),
    apply,
    selftests,
    build,
    bench,
    // Stages that ended in an infrastructure error carry no data, only the reason.
    errors: [
      ...input.errors,
      ...input.results
        .filter((r) => r.status === "error" && (r.data === null || r.data === undefined))
        .map((r) => ({ stage: r.stage, reason: r.summary })),
    ],
    claims: input.claims ?? claimChecksOf(series, bench),
    ...(since ? { since } : {}),
    generatedAt: input.generatedAt,
    tool: input.tool,
  };
  return { ...partial, headline: headlineOf(partial) };
}
