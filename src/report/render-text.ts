import type { Report } from "./report.ts";
import { describeCarried } from "../domain/describe-carried.ts";
import { renderBenchText } from "./render-bench-text.ts";
import { hang, MAX_COLUMNS, toAscii, wrap } from "./text-layout.ts";

/**
 * The plain-text mailing-list reply: ASCII only, at most 72 columns, no
 * HTML, no top-posting (it is a new message in the thread, nothing quoted).
 */
export { MAX_COLUMNS, toAscii, wrapCommand } from "./text-layout.ts";

export interface TextOptions {
  /** The run's dashboard page: a "Details:" line at the end. */
  detailsUrl?: string | null;
}

export function renderText(r: Report, options: TextOptions = {}): string {
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
  if (r.since) {
    push("");
    if (r.since.changes.length === 0) push(`Since v${r.since.version}: no verdict changed.`);
    else {
      push(`Since v${r.since.version}:`);
      for (const c of r.since.changes) push(...hang("  - ", toAscii(c)));
    }
    // Without an apply block the blank line after it follows anyway.
    if (r.apply) push("");
  }

  const ap = r.apply;
  if (ap) {
    const d = ap.data;
    if (d.baseCommit) {
      if (d.origin) {
        // A URL is never cut: one line of its own when the branch does not fit beside it.
        const tree = `Tree:   ${toAscii(d.origin)}`;
        const branch = `branch ${toAscii(d.branch)}`;
        if (tree.length + 1 + branch.length <= MAX_COLUMNS) push(`${tree} ${branch}`);
        else push(tree, `        ${branch}`);
      }
      push(`Base:   ${d.tree} ${d.baseCommit.slice(0, 12)} (${d.baseRule ?? "?"})`);
      for (const n of d.baseNotes) push(...hang("        - ", toAscii(n)));
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
          k.reused
            ? `${k.commit.slice(0, 12)} reused, built for flow ${k.reused.flowId} in ${Math.round(k.reused.buildMs / 1000)} s, ${k.warnings.length} warning(s)`
            : `${k.commit.slice(0, 12)} ${k.ok ? "built" : "FAILED"} in ${Math.round(k.durationMs / 1000)} s, ${k.warnings.length} warning(s)${k.ccache ? ", ccache" : ""}`,
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

  if (r.bench) push(...renderBenchText(r.bench, r.claims ?? []));
  else if (r.apply?.status === "fail") {
    push("Benchmark: not run (the series does not apply).");
    push("");
  }

  for (const e of r.errors) push(...wrap(`${e.stage}: could not run (infrastructure, not the series): ${toAscii(e.reason)}`));
  if (r.errors.length) push("");
  // A URL is never cut: a long one runs past the column limit on its own line.
  if (options.detailsUrl) push(`Details: ${options.detailsUrl}`, "");
  push("-- ");
  push(`${r.tool.name} ${r.tool.version}, report ${r.id}`);
  return `${L.map((l) => toAscii(l).trimEnd()).join("\n")}\n`;
}
