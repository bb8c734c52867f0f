/** One attack of the security suite and what came of it. */
export interface AttackRow {
  attack: string;
  expected: string;
  /** True: the defence held; false: BROKEN. */
  held: boolean;
  /** What was observed (on BROKEN: the failed expectation). */
  detail: string;
  /** Set when the attack could not be tried here (e.g. no root): the reason. */
  skipped?: string;
}

export function verdictOf(row: AttackRow): "held" | "BROKEN" | "SKIPPED" {
  if (row.skipped !== undefined) return "SKIPPED";
  return row.held ? "held" : "BROKEN";
}

/**
 * Pure: the suite's table, one line per attack (`attack → expected → verdict`),
 * each detail on the line below, then a count. Plain text so it reads the same
 * in a terminal, in CI logs and pasted into the README.
 */
export function formatAttackTable(rows: readonly AttackRow[]): string {
  const width = (pick: (r: AttackRow) => string, head: string) => Math.max(head.length, ...rows.map((r) => pick(r).length));
  const wa = width((r) => r.attack, "attack");
  const we = width((r) => r.expected, "expected");
  const line = (a: string, e: string, v: string) => `${a.padEnd(wa)} → ${e.padEnd(we)} → ${v}`.trimEnd();
  const out = [line("attack", "expected", "verdict"), "-".repeat(wa + we + 13)];
  for (const r of rows) {
    out.push(line(r.attack, r.expected, verdictOf(r)));
    const why = r.skipped ?? r.detail;
    if (why) out.push(`    ${why.replace(/\s+/g, " ").trim()}`);
  }
  const count = (v: ReturnType<typeof verdictOf>) => rows.filter((r) => verdictOf(r) === v).length;
  out.push("-".repeat(wa + we + 13));
  out.push(`${rows.length} attacks: ${count("held")} held, ${count("BROKEN")} BROKEN, ${count("SKIPPED")} skipped`);
  return `${out.join("\n")}\n`;
}
