import type { Report } from "../report/report.ts";

/**
 * When a report is worth a mail to the list. Kernel lists are read by
 * humans and a bot that mails every green run is soon filtered out, so the
 * list hears only what a maintainer acts on: does not apply, a failing
 * selftest, a significant regression or improvement, a claim the
 * measurements did not back up. Infrastructure trouble is ours, never mailed.
 */
export interface MailPolicyOptions {
  /** Mail only results that matter; false mails every report. */
  quiet: boolean;
  /** Most mails to one thread (series version) within `windowHours`. */
  perThread: number;
  /** Most mails to one list address within `windowHours`. */
  perList: number;
  windowHours: number;
}

export const DEFAULT_MAIL_POLICY: MailPolicyOptions = { quiet: true, perThread: 3, perList: 30, windowHours: 24 };

export interface MailPolicyInput {
  report: Pick<Report, "status" | "apply" | "selftests" | "bench" | "errors">;
  /** An explicit `/bench` asked for this report: it always gets an answer. */
  requested: boolean;
  /** Who asked (address), when requested; null → the author is answered. */
  requestedBy: string | null;
  /** Claims in the series text that the measurements did not reproduce. */
  unreproducedClaims: number;
  to: readonly string[];
  cc: readonly string[];
  author: string;
  /** List addresses of the tree (recipients that are lists). */
  lists: readonly string[];
  /** Mails already sent within the window: to this thread, and per list address. */
  sentToThread: number;
  sentToList: Readonly<Record<string, number>>;
  /** The series was never posted (local input with synthetic Message-IDs): there is no thread to answer. */
  unposted?: boolean;
  /** The series is a GitHub pull request: its answers go to GitHub, and no list thread exists. */
  pullRequest?: boolean;
}

export type MailDecision =
  | { action: "send"; to: string[]; cc: string[]; reasons: string[] }
  | { action: "hold"; reasons: string[] };

/** Why a report matters to the list; empty when it does not. */
export function significantFindings(
  report: MailPolicyInput["report"],
  unreproducedClaims = 0,
): string[] {
  const out: string[] = [];
  if (report.apply?.status === "fail") out.push("the series does not apply");
  const failedTests = report.selftests?.data.tests.filter((t) => t.status === "fail").length ?? 0;
  if (failedTests > 0) out.push(`${failedTests} selftest(s) failed`);
  else if (report.selftests?.status === "fail") out.push("the selftests stage failed");
  const cells = report.bench?.cells ?? [];
  const regressed = cells.filter((c) => c.analysis.verdict === "regression").length;
  const improved = cells.filter((c) => c.analysis.verdict === "improvement").length;
  if (regressed > 0) out.push(`${regressed} benchmark cell(s) regressed`);
  if (improved > 0) out.push(`${improved} benchmark cell(s) improved`);
  // An arm is the feature the series adds, switched on: its effect against the plain candidate counts too.
  for (const arm of report.bench?.arms ?? []) {
    const cs = arm.vsCandidate.cells;
    const worse = cs.filter((c) => c.analysis.verdict === "regression").length;
    const better = cs.filter((c) => c.analysis.verdict === "improvement").length;
    if (worse > 0) out.push(`arm ${arm.name}: ${worse} cell(s) slower than the candidate`);
    if (better > 0) out.push(`arm ${arm.name}: ${better} cell(s) faster than the candidate`);
  }
  if (unreproducedClaims > 0) out.push(`${unreproducedClaims} claim(s) in the series not reproduced`);
  return out;
}

/** An address without its display name, lower-cased: "Ada <A@x.org>" -> "a@x.org". */
export const bareAddress = (a: string) => (/<([^>]+)>\s*$/.exec(a)?.[1] ?? a).trim().toLowerCase();

/**
 * Pure: send (to whom) or hold. Held reports stay in the outbox and the
 * store for other channels (GitHub, dashboard). Rate limits hold unsolicited
 * mail; a `/bench` over a limit is still answered, to the one who asked
 * only, so a busy thread cannot flood the list.
 */
export function decideMail(input: MailPolicyInput, options: MailPolicyOptions = DEFAULT_MAIL_POLICY): MailDecision {
  if (input.pullRequest) return { action: "hold", reasons: ["a pull request is answered on GitHub (check run, /bench comment); no list thread to answer"] };
  if (input.unposted) return { action: "hold", reasons: ["the series was never posted (synthetic Message-IDs): no thread to answer"] };
  const findings = significantFindings(input.report, input.unreproducedClaims);
  const reasons: string[] = [];
  if (input.requested) reasons.push("answer to an explicit /bench");
  else if (!options.quiet) reasons.push("quiet mode is off: every report is mailed");
  else if (findings.length > 0) reasons.push(...findings);
  else {
    const why =
      input.report.errors.length > 0 || input.report.status === "error"
        ? "infrastructure error only (not the author's fault): kept off the list"
        : "nothing significant (quiet by default)";
    return { action: "hold", reasons: [why] };
  }

  const lists = new Set(input.lists.map(bareAddress));
  const isList = (a: string) => lists.has(bareAddress(a));
  const over: string[] = [];
  if (input.sentToThread >= options.perThread)
    over.push(`thread limit reached: ${input.sentToThread} of ${options.perThread} mails in ${options.windowHours} h`);
  for (const a of [...input.to, ...input.cc].filter(isList)) {
    const n = input.sentToList[bareAddress(a)] ?? 0;
    if (n >= options.perList) over.push(`list limit reached for ${bareAddress(a)}: ${n} of ${options.perList} mails in ${options.windowHours} h`);
  }
  if (over.length === 0) return { action: "send", to: [...input.to], cc: [...input.cc], reasons };
  if (!input.requested) return { action: "hold", reasons: [...reasons, ...over] };
  const who = input.requestedBy ?? input.author;
  return { action: "send", to: [who], cc: [], reasons: [...reasons, ...over, `answered to ${bareAddress(who)} only`] };
}
