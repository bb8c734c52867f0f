import type { HistoryConfig } from "../config/history-schema.ts";

export interface HistoryState {
  now: Date;
  /** The branch tip now, with its first parent when the tree's objects are at hand; null: could not be read. */
  tip: { head: string; parent: string | null; subject: string | null } | null;
  /** The newest tip flow planned for this tree (finished or not). */
  last: { head: string; plannedAt: string; finished: boolean } | null;
  /** The head of the newest tip flow that gave numbers: the next tip's base (a tip that did not build is stepped over). */
  lastMeasured: string | null;
  /** Estimated runner seconds of the tip flows planned in the last 24 hours. */
  spentSec: number;
  /** Estimated runner seconds of one tip flow (builds and boots included). */
  estimateSec: number;
}

export type HistoryDecision = { run: true; base: string; head: string; note: string } | { run: false; why: string };

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number);
  return h! * 60 + m!;
}

/** Pure: is `now` (UTC) inside "HH:MM-HH:MM"? A window may pass midnight (22:00-06:00). */
export function insideHours(window: string, now: Date): boolean {
  const [from, to] = window.split("-").map(minutesOf) as [number, number];
  const t = now.getUTCHours() * 60 + now.getUTCMinutes();
  return from <= to ? t >= from && t < to : t >= from || t < to;
}

/**
 * Pure: whether a tree's tip is measured now, and against what. The base is the newest tip that
 * gave numbers, so the history is a chain of A/B ratios with no hole where a tip did not build;
 * the first tip is measured against its first parent when known, else against itself (an A/A:
 * the box's noise, said so).
 */
export function planHistoryRun(cfg: HistoryConfig, s: HistoryState): HistoryDecision {
  if (!cfg.enabled) return { run: false, why: "history is off for this tree" };
  if (!s.tip) return { run: false, why: "the tree's tip could not be read" };
  if (s.last && !s.last.finished) return { run: false, why: `the tip ${s.last.head.slice(0, 12)} is still being measured` };
  if (s.last?.head === s.tip.head) return { run: false, why: `the tip ${s.tip.head.slice(0, 12)} is measured already` };
  if (s.last && cfg.everyHours > 0) {
    const age = (s.now.getTime() - Date.parse(s.last.plannedAt)) / 3_600_000;
    if (age < cfg.everyHours) return { run: false, why: `the last tip was measured ${age.toFixed(1)} h ago (every ${cfg.everyHours} h)` };
  }
  if (cfg.quietHours && !insideHours(cfg.quietHours, s.now)) return { run: false, why: `outside the quiet hours ${cfg.quietHours} UTC` };
  const budget = cfg.budgetMinutesPerDay * 60;
  if (s.spentSec + s.estimateSec > budget) {
    return { run: false, why: `over the runner budget: ${Math.round(s.spentSec / 60)} + ${Math.round(s.estimateSec / 60)} min > ${cfg.budgetMinutesPerDay} min in 24 h` };
  }
  const head = s.tip.head;
  if (s.lastMeasured) return { run: true, base: s.lastMeasured, head, note: `against the previous measured tip ${s.lastMeasured.slice(0, 12)}` };
  if (s.tip.parent) return { run: true, base: s.tip.parent, head, note: `the first tip, against its first parent ${s.tip.parent.slice(0, 12)}` };
  return { run: true, base: head, head, note: "the first tip, against itself (A/A: this box's noise; its first parent is not at hand)" };
}
