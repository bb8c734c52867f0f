import type { Series } from "../../domain/series.ts";
import { buildSeries } from "./build-series.ts";
import { carryTrailers } from "./carry-trailers.ts";
import { type Reply, collectReplies } from "./collect-replies.ts";
import { type Quarantined, collectNodes } from "./collect-nodes.ts";
import { groupMembers } from "./group-members.ts";
import { linkVersions } from "./link-versions.ts";
import type { ParsedMessage } from "./parse-message.ts";
import { type SeriesState, seriesStates } from "./series-states.ts";

export type { Reply, ReplyKind } from "./collect-replies.ts";
export type { Quarantined } from "./collect-nodes.ts";
export { noteBodyFacts } from "./note-body-facts.ts";
export type { SeriesState } from "./series-states.ts";

export interface GroupSeriesResult {
  series: Series[];
  replies: Reply[];
  quarantined: Quarantined[];
  /** Series id → state (kept out of Series, which is the shared JSON contract). */
  states: Record<string, SeriesState>;
  /** Series id → when a waiting series turns final-incomplete (ms since the epoch); waiting series only. */
  deadlines: Record<string, number>;
}

export interface GroupSeriesOptions {
  /** A series with missing patches whose newest mail is older than now − this is final-incomplete. Default 24 h. */
  incompleteAfterMs?: number;
  /** "Now" in ms since the epoch. Default Date.now(). */
  now?: number;
  /**
   * Message-ID → when we received it (ms). When given, the incomplete deadline
   * counts from the newest arrival instead of the newest Date: header (a
   * sender's clock, or a mail re-sent from an archive, says nothing about when
   * the rest of the series can still come).
   */
  arrivedAt?: ReadonlyMap<string, number>;
  /** Unthreaded mails of one author join one series when at most this far apart. Default 6 h. */
  unthreadedWindowMs?: number;
}

const HOUR = 3_600_000;

/**
 * Groups parsed mails into series versions, replies and quarantined mails.
 * Pure: no I/O, and bad data never throws (it is quarantined with a reason).
 */
export function groupSeries(messages: readonly ParsedMessage[], options: GroupSeriesOptions = {}): GroupSeriesResult {
  const now = options.now ?? Date.now();
  const incompleteAfter = options.incompleteAfterMs ?? 24 * HOUR;
  const window = options.unthreadedWindowMs ?? 6 * HOUR;
  const quarantined: Quarantined[] = [];

  const { nodes, byId } = collectNodes(messages, quarantined);
  const groups = groupMembers(nodes, byId, window, quarantined);
  const { built, seriesOf } = buildSeries(groups.values());
  linkVersions(built, byId, seriesOf);
  const replies = collectReplies(nodes, byId, seriesOf);
  carryTrailers(built);
  for (const b of built) {
    b.series.trailers.sort((x, y) => x.patch - y.patch);
    b.series.unattributedTrailers?.sort((x, y) => x.patch - y.patch);
  }
  const { states, deadlines } = seriesStates(built, now, incompleteAfter, options.arrivedAt);

  const series = built
    .sort((a, b) => a.root.time - b.root.time || a.root.seq - b.root.seq)
    .map((b) => b.series);
  replies.sort((a, b) => ((a.date ?? "") < (b.date ?? "") ? -1 : (a.date ?? "") > (b.date ?? "") ? 1 : 0));
  return { series, replies, quarantined, states, deadlines };
}
