import type { Report, ReportArm, ReportCell } from "./report.ts";
import { formatChange, formatMdeRange, formatQuantity, formatRatio, formatSize } from "./format-number.ts";
import { hang, MAX_COLUMNS, plural, toAscii, wrap, wrapCommand } from "./text-layout.ts";

function cellLabel(c: ReportCell): string {
  return `${c.cell.test} (${c.cell.topology}) ${formatSize(c.cell.size)}`;
}

/** The seed's line: `TCP_RR (loopback) 1 B 111.9k -> 1113.8k tps (9.96x) [9.71x, 10.2x]`. */
export function seedLine(c: ReportCell): string {
  const a = c.analysis;
  const ci = a.ci95 ? ` [${formatRatio(a.ci95[0])}, ${formatRatio(a.ci95[1])}]` : "";
  return `${cellLabel(c)} ${formatQuantity(a.meanA)} -> ${formatQuantity(a.meanB)} ${c.unit} (${formatRatio(a.ratio)})${ci}`;
}

function ministat(c: ReportCell): string {
  const a = c.analysis;
  const how = a.method === "paired-t" ? `paired t over ${a.pairs} round pairs` : `Welch t, ${a.nA}+${a.nB} rounds`;
  // The interval of a ratio is not symmetric around the estimate: print both ends.
  const ci = a.ci95 ? ` [${formatChange(a.ci95[0])}, ${formatChange(a.ci95[1])}]` : "";
  return `${a.verdict}: ${formatChange(a.ratio)}${ci} (95% CI, ${how}), q=${a.q < 0.001 ? a.q.toExponential(1) : a.q.toFixed(3)}`;
}

function bar(ratio: number, scale: number, half = 14): string {
  const n = Math.min(half, Math.round((Math.abs(Math.log(ratio)) / scale) * half));
  const left = ratio < 1 ? `${" ".repeat(half - n)}${"#".repeat(n)}` : " ".repeat(half);
  const right = ratio >= 1 ? `${"#".repeat(n)}${" ".repeat(half - n)}` : " ".repeat(half);
  return `${left}|${right}`;
}

/** The "Claims" section: each claim of the series, consistent / not reproduced / not measured (why). */
export function renderClaims(checks: NonNullable<Report["claims"]>, a: string, b: string): string[] {
  const L: string[] = [];
  const counts = { consistent: 0, "not reproduced": 0, "not measured": 0 };
  for (const c of checks) counts[c.verdict]++;
  L.push(
    ...wrap(
      `Claims in the series: ${checks.length} (${counts.consistent} consistent, ${counts["not reproduced"]} not reproduced, ${counts["not measured"]} not measured); compared with B/A = ${b}/${a} only where the claim names the same variants.`,
    ),
  );
  for (const c of checks) {
    const cl = c.claim;
    const where = `${cl.test} (${cl.topology ?? "?"}) ${cl.size === null ? "?" : formatSize(cl.size)}`;
    const word = c.notMeasuredBecause === "variants differ" ? "not measured (variants differ)" : c.verdict;
    L.push(...hang("  - ", `${word}: ${where} claimed ${formatRatio(cl.ratio)}`));
    L.push(...wrap(toAscii(`${c.detail}${c.against ? ` (held against ${c.against})` : ""}`), "      "));
  }
  return L;
}

/** One arm: its cells against the plain candidate (the feature's effect), then against the base. */
function renderArm(arm: ReportArm): string[] {
  const L: string[] = [];
  const named = arm.claimedAs ? ` (claims name it "${arm.claimedAs.from}" -> "${arm.claimedAs.to}")` : "";
  L.push(...wrap(`Arm ${arm.name}: the candidate kernel with the arm's settings${named}`));
  for (const [label, cmp] of [["against the candidate", arm.vsCandidate], ["against the base", arm.vsBase]] as const) {
    L.push(`  ${label} (B/A = ${cmp.variants[1].name}/${cmp.variants[0].name}):`);
    for (const c of cmp.cells) {
      L.push(...wrap(seedLine(c), "    "));
      L.push(...wrap(ministat(c), "        "));
      if (c.analysis.verdict === "noisy" && c.analysis.reason) L.push(...wrap(`why noisy: ${toAscii(c.analysis.reason)}`, "        "));
    }
  }
  L.push("");
  return L;
}

/** Pure: how a kernel side was booted, for every renderer: "booted in 6.3 s" or "booted 4 times, median 6.1 s". */
export function bootPhrase(s: { bootMs: number; boots?: number }): string {
  const sec = (s.bootMs / 1000).toFixed(1);
  return (s.boots ?? 1) > 1 ? `booted ${s.boots} times, median ${sec} s` : `booted in ${sec} s`;
}

/** The mail's Benchmark section: design, each cell's verdict, the LKP block, arms, claims, machine. */
export function renderBenchText(b: NonNullable<Report["bench"]>, claims: NonNullable<Report["claims"]>): string[] {
  const L: string[] = [];
  const push = (...lines: string[]) => L.push(...lines);
  const d = b.stage.data;
  const [va, vb] = b.variants;
  const k = d.kernels;
  if (k) {
    const arms = b.arms?.length ? `; arms on the candidate kernel: ${b.arms.map((a) => a.name).join(", ")}` : "";
    push(...wrap(`Benchmark: netperf inside each kernel, A = ${va.name}, B = ${vb.name} (the series)${arms}`));
    for (const s of k.sides) push(...hang(`  ${s.name}: `, `${toAscii(s.describe)}; ${bootPhrase(s)}`, "    "));
    const switchCost = `Switch cost (median of ${k.switchMs.count}): pause ${k.switchMs.pause} ms + resume ${k.switchMs.resume} ms + settle ${k.switchMs.settle} ms.`;
    push(
      ...wrap(
        k.mode !== "guests"
          ? `One kernel up at a time: every change of side boots that side's kernel (the boot is the unit of replication); a switch costs a shutdown and a boot (${k.sides.reduce((n, x) => n + (x.boots ?? 1), 0)} boots in all, medians above) + settle ${k.switchMs.settle} ms.`
          : k.bootEvery === "round"
            ? `Every kernel boots afresh for each round (the boot is the unit of replication); within a round the idle one is paused. ${switchCost}`
            : `Both kernels stay up; the idle one is paused. ${switchCost}`,
        "  ",
      ),
    );
    for (const n of k.notes) push(...wrap(toAscii(n), "  "));
  } else push(...wrap(`Benchmark: netperf on the runner's kernel, A = ${va.name}, B = ${vb.name}`));
  const pin = d.pinning ? `pinned -T ${d.pinning.local},${d.pinning.remote}` : "unpinned";
  push(
    ...wrap(
      `${d.design} interleaving, ${plural(d.rounds, "round")} per variant x ${plural(d.runsPerRound, "run")} x ${d.durationSec} s, ${pin}${d.warmup ? (d.warmupRounds === "first" ? ", one warm-up run per cell discarded in the first round" : ", one warm-up run per cell and round discarded") : ", no warm-up runs"}`,
      "  ",
    ),
  );
  push("");
  for (const c of b.cells) {
    push(...wrap(seedLine(c), "  "));
    push(...wrap(ministat(c), "      "));
    // A cell set aside must say why, or a reader cannot tell a flaky box from a flaky series.
    if (c.analysis.verdict === "noisy" && c.analysis.reason) push(...wrap(`why noisy: ${toAscii(c.analysis.reason)}`, "      "));
  }
  push("");
  // LKP's block: base %stddev %change %stddev patched metric
  push("        A  %stddev   %change          B  %stddev  metric");
  for (const c of b.cells) {
    const name = `${c.cell.topology}.${c.cell.test}.${formatSize(c.cell.size).replace(" ", "")}`;
    const row = `${formatQuantity(c.a.mean).padStart(9)} ${`+/-${(c.a.cv * 100).toFixed(0)}%`.padStart(7)} ${formatChange(c.analysis.ratio).padStart(9)} ${formatQuantity(c.b.mean).padStart(10)} ${`+/-${(c.b.cv * 100).toFixed(0)}%`.padStart(7)}  ${name}`;
    push(row.slice(0, MAX_COLUMNS));
  }
  push("");
  const scale = Math.max(0.01, ...b.cells.map((c) => Math.abs(Math.log(c.analysis.ratio))));
  push("  Ratio B/A (left: slower, right: faster)");
  for (const c of b.cells) {
    const label = `${c.cell.topology.slice(0, 9)} ${formatSize(c.cell.size)}`.padEnd(16);
    push(`  ${label}${bar(c.analysis.ratio, scale)} ${formatRatio(c.analysis.ratio)}`);
  }
  push("");
  const mde = formatMdeRange(b.cells.map((c) => c.analysis.mde * 100));
  if (mde !== null) push(...wrap(`Minimum detectable effect (80% power, alpha 0.01): ${mde} per cell; smaller changes can hide behind "no change".`));
  push(
    ...wrap(
      `Verdicts: improvement/regression need BH-adjusted q <= 0.05 across ${b.cells.length === 1 ? "the 1 cell" : `all ${b.cells.length} cells`}, a 95% CI excluding zero and a change beyond the cell's noise floor; "no change" needs the 90% CI inside the floor.`,
    ),
  );
  const failed = b.cells.reduce((n, c) => n + c.a.failedRuns + c.b.failedRuns, 0);
  if (failed > 0) push(...wrap(`${failed} run(s) failed and were left out; their cells are marked noisy.`));
  push("");
  for (const arm of b.arms ?? []) push(...renderArm(arm));
  if (claims.length) push(...renderClaims(claims, b.variants[0].name, b.variants[1].name), "");
  const profile = Object.entries(d.profile);
  if (profile.length) push("Machine:");
  for (const [k, v] of profile) {
    push(...hang(`  ${k}: `, toAscii(v), "    "));
  }
  if (d.warnings.length) {
    push("Not tuned (numbers are relative to this box only):");
    for (const w of d.warnings) push(...hang("  - ", toAscii(w)));
  }
  for (const p of d.problems) push(...hang("  problem: ", toAscii(p)));
  if (d.commands.length) {
    if (L[L.length - 1] !== "") push("");
    push("Reproduce by hand (one run of each cell):");
    for (const cmd of d.commands) push(...wrapCommand(cmd));
  }
  push("");
  return L;
}
