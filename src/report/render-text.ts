import type { ReportCell, Report } from "./report.ts";
import { formatChange, formatQuantity, formatRatio, formatSize } from "./format-number.ts";
import { describeCarried } from "../domain/describe-carried.ts";

/**
 * The plain-text mailing-list reply: ASCII only, at most 72 columns, no
 * HTML, no top-posting (it is a new message in the thread, nothing quoted).
 */
export const MAX_COLUMNS = 72;

function wrap(text: string, indent = "", width = MAX_COLUMNS): string[] {
  const out: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.trim().length > 0 && line.length + 1 + word.length > width) {
      out.push(line);
      line = indent + word;
    } else line = line.trim().length > 0 ? `${line} ${word}` : indent + word;
  }
  if (line.trim()) out.push(line);
  return out.map((l) => (l.length > width ? l.slice(0, width) : l));
}

/** Wrap with a hanging indent: the first line starts with `head`, the rest line up under its text. */
function hang(head: string, text: string, indent = " ".repeat(head.length)): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  let line = head;
  let fresh = true;
  for (const w of words) {
    if (!fresh && line.length + 1 + w.length > MAX_COLUMNS) {
      out.push(line);
      line = indent + w;
    } else line = fresh ? line + w : `${line} ${w}`;
    fresh = false;
  }
  out.push(line);
  return out.map((l) => l.slice(0, MAX_COLUMNS));
}

/** Replace anything outside printable ASCII (names, subjects from mail). */
const ASCII_FOR: Record<string, string> = {
  "\u00d7": "x",
  "\u2248": "~",
  "\u2192": "->",
  "\u2190": "<-",
  "\u2264": "<=",
  "\u2265": ">=",
  "\u00b1": "+/-",
  "\u00b5": "u",
  "\u03bc": "u",
  "\u2013": "-",
  "\u2014": "-",
  "\u2212": "-",
  "\u2018": "'",
  "\u2019": "'",
  "\u201c": '"',
  "\u201d": '"',
  "\u2026": "...",
};

export function toAscii(s: string): string {
  return s
    .replace(/[\u00d7\u2248\u2192\u2190\u2264\u2265\u00b1\u00b5\u03bc\u2013\u2014\u2212\u2018\u2019\u201c\u201d\u2026]/g, (c) => ASCII_FOR[c] ?? "?")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\x20-\x7e]/g, "?");
}

/**
 * A shell command over several lines that still pastes into sh: lines end
 * in " \\"; a word longer than a line (a -k selector list) is cut after a
 * comma with a bare "\\" and continues at column 0, because sh removes
 * backslash-newline inside a word and would keep an indent as part of it.
 */
export function wrapCommand(cmd: string): string[] {
  const width = MAX_COLUMNS - 2;
  const out: string[] = [];
  let line = "";
  for (const word of cmd.split(/\s+/).filter(Boolean)) {
    const indent = out.length === 0 && line === "" ? "  " : "    ";
    if (line === "") line = indent;
    else if (line.length + 1 + word.length <= width) {
      line += " ";
    } else {
      out.push(`${line} \\`);
      line = "    ";
    }
    if (line.length + word.length <= width) {
      line += word;
      continue;
    }
    let rest = word;
    while (line.length + rest.length > width) {
      const room = MAX_COLUMNS - 1 - line.length;
      const cut = rest.lastIndexOf(",", room - 1);
      const at = cut > 0 ? cut + 1 : room;
      out.push(`${line}${rest.slice(0, at)}\\`);
      rest = rest.slice(at);
      line = "";
    }
    line += rest;
  }
  if (line.trim()) out.push(line);
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

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
    L.push(...wrap(toAscii(c.detail), "      "));
  }
  return L;
}

export function renderText(r: Report): string {
  const L: string[] = [];
  const push = (...lines: string[]) => L.push(...lines);
  push(...wrap(`patchbench: ${r.headline}`));
  push("");
  const s = r.series;
  const ownCover = s.cover?.carriedFrom === undefined ? s.cover : null;
  const ownPatch = s.patches.find((p) => p.carriedFrom === undefined);
  push(...wrap(`Series: ${toAscii(ownCover?.subject ?? ownPatch?.subject ?? s.title)}`, ""));
  push(...wrap(`Author: ${toAscii(s.author)}`));
  const carried = describeCarried(s);
  if (carried !== null) push(...hang("Reroll: ", `partial, ${carried}`));

  const ap = r.apply;
  if (ap) {
    const d = ap.data;
    if (d.baseCommit) {
      push(`Base:   ${d.tree} ${d.baseCommit.slice(0, 12)} (${d.baseRule ?? "?"})`);
      for (const n of d.baseNotes) push(...wrap(`- ${n}`, "        "));
    }
    push(...hang("Apply:  ", `${ap.status.toUpperCase()} - ${ap.summary}`));
    if (d.failure) {
      push(...wrap(`Patch ${d.failure.patch}: ${toAscii(d.failure.subject)}`, "  "));
      if (d.failure.files.length) push(...wrap(`files: ${d.failure.files.join(", ")}`, "  "));
      if (d.failure.hunks?.length) push(...wrap(`hunks: ${d.failure.hunks.join(", ")}`, "  "));
      push("  git said:");
      for (const l of d.failure.gitMessage.split("\n").slice(0, 12)) push(...wrap(toAscii(l), "    "));
    }
    for (const rej of d.rejected) push(...wrap(`patch ${rej.patch} refused: ${rej.reason}`, "  "));
    for (const a of d.alreadyApplied ?? []) {
      push(...hang("  ", `patch ${a.patch} is already in the tree, skipped: ${toAscii(a.subject)}`, "    "));
    }
    if (d.head) push(`Head:   ${d.head.slice(0, 12)} (series applied)`);
    for (const c of d.checks ?? []) {
      push(...hang(`Check:  `, `${c.status.toUpperCase()} ${c.id} - ${toAscii(c.summary)}`));
      for (const f of c.findings.slice(0, 10)) {
        const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ""}: ` : "";
        push(...hang("          ", `patch ${f.patch}: ${where}${f.severity}${f.code ? ` ${f.code}` : ""}: ${toAscii(f.message)}`, "            "));
      }
      if (c.findings.length > 10) push(`          ... and ${c.findings.length - 10} more`);
    }
  }
  push("");

  if (r.build) {
    const b = r.build.data;
    push(...hang("Build:  ", `${r.build.status.toUpperCase()} - ${toAscii(r.build.summary)}`));
    const cfg = [b.config.base, ...b.config.fragments, ...b.config.extras].join(" + ");
    push(...hang("  config: ", toAscii(cfg), "    "));
    for (const [label, k] of [["base", b.base], ["candidate", b.candidate]] as const) {
      if (!k) continue;
      push(
        ...hang(
          `  ${label}: `,
          `${k.commit.slice(0, 12)} ${k.ok ? "built" : "FAILED"} in ${Math.round(k.durationMs / 1000)} s, ${k.warnings.length} warning(s)${k.ccache ? ", ccache" : ""}`,
          "    ",
        ),
      );
      if (!k.ok) for (const l of k.logTail.split("\n").slice(-8)) push(...wrap(toAscii(l), "    "));
    }
    if (b.newWarnings.length) {
      push(`  new warnings (${b.newWarnings.length}):`);
      for (const w of b.newWarnings.slice(0, 10)) push(...hang("    ", `${w.file}:${w.line}: ${toAscii(w.message)}${w.flag ? ` [${w.flag}]` : ""}`, "      "));
    }
    for (const boot of b.boots) {
      push(...hang(`  boot ${boot.kernel} (${boot.target}): `, `${boot.outcome} - ${toAscii(boot.reason)}`, "    "));
      if (boot.outcome !== "ok") for (const l of boot.consoleTail.split("\n").slice(-6)) push(...wrap(toAscii(l), "    "));
      for (const t of boot.probes) push(...hang(`    ${t.status.toUpperCase().padEnd(5)} `, `${t.name}: ${toAscii(t.detail)}`, "          "));
    }
    for (const c of b.probeChanges) {
      push(...hang("  changed: ", `${c.name}: base ${c.base ?? "-"} -> candidate ${c.candidate ?? "-"} (${toAscii(c.note)})`, "    "));
    }
    push("");
  }

  if (r.selftests) {
    push(...hang("Selftests: ", toAscii(r.selftests.summary), "  "));
    if (r.selftests.data.kernel) push(...hang("  ran on: ", toAscii(r.selftests.data.kernel), "    "));
    for (const t of r.selftests.data.tests) {
      push(...wrap(`${t.status.toUpperCase().padEnd(5)} ${t.suite}/${t.name}`, "  "));
      push(...wrap(toAscii(t.detail), "        "));
    }
    push("");
  }

  if (r.bench) {
    const b = r.bench;
    const d = b.stage.data;
    const [va, vb] = b.variants;
    const k = d.kernels;
    if (k) {
      push(...wrap(`Benchmark: netperf inside each kernel, A = ${va.name}, B = ${vb.name} (the series)`));
      for (const s of k.sides) push(...hang(`  ${s.name}: `, `${toAscii(s.describe)}; booted in ${(s.bootMs / 1000).toFixed(1)} s`, "    "));
      push(
        ...wrap(
          k.mode === "guests"
            ? `Both kernels stay up; the idle one is paused. Switch cost (median of ${k.switchMs.count}): pause ${k.switchMs.pause} ms + resume ${k.switchMs.resume} ms + settle ${k.switchMs.settle} ms.`
            : "One boot per side (the target holds one kernel at a time).",
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
    const mdes = b.cells.map((c) => c.analysis.mde * 100).filter(Number.isFinite);
    if (mdes.length) {
      const pct = (x: number) => (x > 100 ? ">100%" : `${x.toFixed(1)}%`);
      const lo = Math.min(...mdes);
      const hi = Math.max(...mdes);
      push(
        ...wrap(
          `Minimum detectable effect (80% power, alpha 0.01): ${lo === hi || (lo > 100 && hi > 100) ? pct(lo) : `${pct(lo)} to ${pct(hi)}`} per cell; smaller changes can hide behind "no change".`,
        ),
      );
    }
    push(
      ...wrap(
        `Verdicts: improvement/regression need BH-adjusted q <= 0.05 across ${b.cells.length === 1 ? "the 1 cell" : `all ${b.cells.length} cells`}, a 95% CI excluding zero and a change beyond the cell's noise floor; "no change" needs the 90% CI inside the floor.`,
      ),
    );
    const failed = b.cells.reduce((n, c) => n + c.a.failedRuns + c.b.failedRuns, 0);
    if (failed > 0) push(...wrap(`${failed} run(s) failed and were left out; their cells are marked noisy.`));
    push("");
    if (r.claims?.length) push(...renderClaims(r.claims, b.variants[0].name, b.variants[1].name), "");
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
  } else if (r.apply?.status === "fail") {
    push("Benchmark: not run (the series does not apply).");
    push("");
  }

  for (const e of r.errors) push(...wrap(`${e.stage}: could not run (infrastructure, not the series): ${toAscii(e.reason)}`));
  if (r.errors.length) push("");
  push("-- ");
  push(`${r.tool.name} ${r.tool.version}, report ${r.id}`);
  return `${L.map((l) => toAscii(l).trimEnd()).join("\n")}\n`;
}
