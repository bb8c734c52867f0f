import type { BenchConfig, Config, TreeConfig } from "../config/schema.ts";
import type { KernelCosts } from "../domain/flow-estimate.ts";
import type { VariantSetting } from "../domain/bench.ts";
import type { CandidateBpfPrograms } from "../domain/candidate-bpf-programs.ts";
import { seriesBpfNames, seriesBpfSource } from "../domain/series-bpf-program.ts";
import { authorizeGithub, authorizeMail, mailAddressOf } from "./authorize-bench.ts";
import { BENCH_HELP, parseBenchCommand } from "./parse-bench-command.ts";
import { type BenchLimits, type PlannedBench, planBenchRequest } from "./plan-bench-request.ts";

/**
 * One `/bench` request, whichever channel it came by (pure):
 * parse → authorise → plan → what to answer. The GitHub comment and the
 * mail reply adapters only translate their input into a BenchRequestInput
 * and carry out the answer.
 *
 * Answers that cost something (a run, a comment, a mail) name a rate-limit
 * gate; the adapter asks the limiter and feeds the outcome to settleBenchDecision.
 */

export type BenchSender =
  | { channel: "github"; login: string; association: string; type: string }
  | { channel: "mail"; from: string; authenticationResults: readonly string[] };

export interface BenchRequestInput {
  sender: BenchSender;
  /** The text holding the /bench line (a comment's command line, a mail body). */
  command: string;
  /** Where the answer goes (a PR, a series thread): refusals are limited per sender and place. */
  place: string;
  /** The tree the request would run on; null when the mail is not in a known series' thread. */
  tree: { bench: BenchConfig; stages: TreeConfig["stages"]; pool: string } | null;
  /** A /bench still pending at this place (one at a time), with the line that asked. */
  pending: { flowId: string; request: string } | null;
  /**
   * The candidate tree's BPF selftest programs as known before the build (the base tree's, read
   * from a mirror holding the series' base commit, with the series' diffs applied); null or
   * absent when unknown: an arm's program is then accepted and the build says.
   */
  candidatePrograms?: CandidateBpfPrograms | null;
}

export interface BenchPolicy {
  limits: BenchLimits & { rateLimit: { perSender: number; global: number; windowHours: number; refusalsPerHour: number } };
  /** GitHub logins allowed besides owners, members, collaborators. */
  allowlist: readonly string[];
  /** Mail: maintainer addresses and the authserv-ids whose Authentication-Results count. */
  maintainers: readonly string[];
  trustedAuthservIds: readonly string[];
  /**
   * The runner's estimate of a flow (seconds), builds and boots included when `kernels`
   * (src/domain/flow-estimate.ts); passed in to keep this module pure.
   */
  estimateSeconds: (bench: BenchConfig, kernels: boolean) => number;
}

/** The policy of a configuration: limits from github.bench, mail senders from mail.bench. */
export function benchPolicyOf(config: Config, estimateSeconds: BenchPolicy["estimateSeconds"]): BenchPolicy {
  const { bench } = config.global.github;
  return {
    limits: bench,
    allowlist: bench.allowlist,
    maintainers: config.global.mail.bench.maintainers,
    trustedAuthservIds: config.global.mail.bench.trustedAuthservIds,
    estimateSeconds,
  };
}

/** A rate-limit check the answer depends on. */
export type BenchGate =
  /** A request of an authorised sender: counted per sender and globally. */
  | { kind: "request"; sender: string }
  /** A refusal reply: one per sender and place per day, and a cap on everyone's per hour; then silence. */
  | { kind: "refusal"; sender: string; place: string };

/**
 * A limiter's answer to a gate: true lets it through; false holds it by its own
 * limit; "capped" holds a refusal by the cap on everyone's refusal replies
 * ("capped-first": the first one so held this window, the one that is logged).
 */
export type GateVerdict = boolean | "capped" | "capped-first";

export type BenchDecision =
  /** Not a /bench at all. */
  | { kind: "ignore" }
  /** Refused; `reply` (when not null) is sent only if its gate lets it through. */
  | { kind: "refuse"; reason: string; reply: string | null; gate: BenchGate | null }
  /** An answer without a run (help, a parse or plan error, one already pending). */
  | { kind: "reply"; reason: string; reply: string; gate: BenchGate | null }
  | ({ kind: "run"; reason: string; gate: BenchGate | null } & BenchRun);

/** What a run request becomes: the flow's bench, stages and pool, and the estimate behind its acknowledgement. */
export type BenchRun = Omit<Extract<PlannedBench, { ok: true }>, "ok">;

/** What a run will do, for its acknowledgement: "base and candidate kernels built (or reused when kept) and booted, …". */
export function describeBenchRun(run: Pick<BenchRun, "bench" | "sides">, costs: KernelCosts): string {
  const b = run.bench;
  const cells = b.tests.length * b.sizes.length * b.topologies.length;
  if (run.sides === "settings") return `${b.variants[0]!.name} against ${b.variants[1]!.name} on the runner's own kernel (the series' code is not run), ${cells} cell(s)`;
  const armWords = (a: BenchConfig["arms"][number]) => {
    const own = seriesBpfNames([a as { settings: VariantSetting[] }]).map((n) => `${n}.c`);
    return `arm ${a.name}${own.length ? ` (with ${own.join(" and ")} of the series' BPF selftests, compiled by the build stage)` : ""}`;
  };
  const arms = b.arms.length > 0 ? ` and ${b.arms.map(armWords).join(", ")} on the candidate` : "";
  if (costs.keptFrom) return `the base and candidate kernels kept from ${costs.keptFrom} booted again (no build)${arms}, ${cells} cell(s) measured in each`;
  return `base and candidate kernels built (or reused when kept) and booted${arms}, ${cells} cell(s) measured in each; build times from ${costs.source}`;
}

/** Once every gate was passed (or failed): what the adapter does. */
export type SettledBenchDecision =
  | { kind: "ignore" }
  /** Nothing leaves; the adapter logs `reason` (at debug only when `quiet`: the refusal cap was logged once for its window). */
  | { kind: "silent"; reason: string; quiet?: boolean }
  | { kind: "reply"; reason: string; reply: string }
  | ({ kind: "run"; reason: string } & BenchRun);

const clean = (s: string, channel: BenchSender["channel"]) => (channel === "github" ? s.replace(/[`@<>]/g, "'") : s);

function text(channel: BenchSender["channel"], kind: "help" | "parse" | "plan" | "pending" | "no-series" | "rate", detail = ""): string {
  const gh = channel === "github";
  const help = gh ? `\`\`\`\n${BENCH_HELP}\n\`\`\`\n` : `${BENCH_HELP}\n`;
  const name = gh ? "**patchbench:**" : "patchbench:";
  const cmd = gh ? "`/bench`" : "/bench";
  switch (kind) {
    case "help":
      return help;
    case "parse":
      return `${name} I could not read that ${cmd}: ${detail}\n\n${help}`;
    case "plan":
      return `${name} I cannot run that ${cmd}: ${detail}\n`;
    case "pending":
      return `${name} a ${cmd} for this ${gh ? "pull request" : "series"} is already pending (${detail}); one at a time — its results will appear ${gh ? "in that comment" : "in its answer"}.\n`;
    case "no-series":
      return `${name} this ${cmd} is not in the thread of a patch series I know; reply to the cover letter or a patch.\n`;
    case "rate":
      return `${name} too many ${cmd} requests (${detail}); this one is not run. Please try again later.\n`;
  }
}

/** The rate-limit key of a sender (a login or an address, case-folded). */
function senderKey(s: BenchSender): string {
  return s.channel === "github" ? `github:${s.login.toLowerCase()}` : `mail:${mailAddressOf(s.from) ?? s.from.toLowerCase()}`;
}

/**
 * Pure: the series programs a `/bench` line names (its arm's): the adapters read the candidate
 * tree's programs only when there are any.
 */
export function seriesProgramsAsked(command: string): string[] {
  const p = parseBenchCommand(command);
  return p.kind === "run" ? (p.request.arm?.programs.map((x) => x.name) ?? []) : [];
}

/** The programs the series adds listed in a refusal, at most. */
const ADDED_SHOWN = 10;

/**
 * Pure: why an arm's programs are not in the candidate tree, or null (all there, or not known).
 * Refused when asked, so no runner time goes to a build whose arm would be dropped.
 */
export function absentPrograms(
  arm: { name: string; programs: readonly { kind: "bpf-cgroup" | "tc-bpf"; name: string }[] },
  known: CandidateBpfPrograms | null,
): string | null {
  if (!known) return null;
  const missing = arm.programs.filter((p) => !known.programs.has(p.name));
  if (missing.length === 0) return null;
  const base = known.base ? ` (${known.base.slice(0, 12)})` : "";
  const why = missing.map((p) =>
    known.deleted.includes(p.name)
      ? `${p.kind}=${p.name}: ${seriesBpfSource(p.name)} is deleted by the series`
      : `${p.kind}=${p.name}: ${seriesBpfSource(p.name)} is neither added by the series nor in its base tree${base}`,
  );
  const shown = known.added.slice(0, ADDED_SHOWN);
  const more = known.added.length > shown.length ? ` and ${known.added.length - shown.length} more` : "";
  const valid = shown.length > 0 ? `; programs the series adds: ${shown.join(", ")}${more}` : "";
  return `arm ${arm.name}: ${why.join("; ")}${valid}`;
}

export function handleBenchRequest(input: BenchRequestInput, policy: BenchPolicy): BenchDecision {
  const { sender } = input;
  const ch = sender.channel;
  const parsed = parseBenchCommand(input.command);
  if (parsed.kind === "none" && ch === "github") return { kind: "ignore" };
  const auth =
    sender.channel === "github"
      ? authorizeGithub({ login: sender.login, association: sender.association, type: sender.type }, { allowlist: policy.allowlist })
      : authorizeMail({ from: sender.from, authenticationResults: sender.authenticationResults }, { maintainers: policy.maintainers, trustedAuthservIds: policy.trustedAuthservIds });
  if (!auth.allowed) {
    if (sender.channel === "mail") {
      // Never answer mail we cannot authenticate: the From may be forged, the reply would be backscatter.
      return { kind: "refuse", reason: auth.reason, reply: null, gate: null };
    }
    return {
      kind: "refuse",
      reason: auth.reason,
      reply: `@${sender.login} thank you for your interest — benchmarks run on shared machines, so \`/bench\` is open to the repository's owners, members and collaborators (and an allowlist). A maintainer can ask on your behalf.\n`,
      gate: { kind: "refusal", sender: senderKey(sender), place: input.place },
    };
  }
  const gate: BenchGate = { kind: "request", sender: senderKey(sender) };
  if (parsed.kind === "help" || parsed.kind === "none") return { kind: "reply", reason: "help", reply: text(ch, "help"), gate };
  if (parsed.kind === "error") return { kind: "reply", reason: `error: ${parsed.message}`, reply: text(ch, "parse", clean(parsed.message, ch)), gate };
  if (!input.tree) return { kind: "reply", reason: "no series", reply: text(ch, "no-series"), gate };
  if (input.pending) {
    return { kind: "reply", reason: `pending: ${input.pending.flowId}`, reply: text(ch, "pending", clean(input.pending.request, ch)), gate };
  }
  const planned = planBenchRequest(input.tree, parsed.request, policy.limits, input.tree.pool, policy.estimateSeconds);
  if (!planned.ok) return { kind: "reply", reason: `refused: ${planned.message}`, reply: text(ch, "plan", planned.message), gate };
  const absent = parsed.request.arm ? absentPrograms(parsed.request.arm, input.candidatePrograms ?? null) : null;
  if (absent) return { kind: "reply", reason: `refused: ${absent}`, reply: text(ch, "plan", absent), gate };
  const { ok: _, ...run } = planned;
  return { kind: "run", reason: auth.reason, ...run, gate };
}

/**
 * Pure: the decision after its gate said `granted`. A request over its
 * limit becomes a refusal whose reply is itself gated (one per day), so
 * the limits also bound the answers.
 */
export function afterGate(d: BenchDecision, granted: GateVerdict, input: BenchRequestInput, policy: BenchPolicy): BenchDecision | SettledBenchDecision {
  if (d.kind === "ignore") return d;
  const open: SettledBenchDecision =
    d.kind === "run"
      ? { kind: "run", reason: d.reason, bench: d.bench, pool: d.pool, estimateSec: d.estimateSec, stages: d.stages, sides: d.sides }
      : d.reply === null
        ? { kind: "silent", reason: d.reason }
        : { kind: "reply", reason: d.reason, reply: d.reply };
  if (d.gate === null || granted === true) return open;
  const rl = policy.limits.rateLimit;
  if (d.gate.kind === "refusal") {
    if (granted === false) return { kind: "silent", reason: `${d.reason} (refusal already sent to ${d.gate.sender} at ${d.gate.place} today)` };
    const cap = `refusal replies capped at ${rl.refusalsPerHour} per hour for everyone together; silent until the hour ends`;
    return { kind: "silent", reason: `${d.reason} (${cap})`, quiet: granted === "capped" };
  }
  return {
    kind: "refuse",
    reason: `rate limited: ${d.gate.sender}`,
    reply: text(input.sender.channel, "rate", `at most ${rl.perSender} per person and ${rl.global} in all per ${rl.windowHours} h`),
    gate: { kind: "refusal", sender: d.gate.sender, place: input.place },
  };
}

/** Pass a decision through its gates (at most two) with the given limiter. */
export async function settleBenchDecision(
  d: BenchDecision,
  input: BenchRequestInput,
  policy: BenchPolicy,
  consume: (gate: BenchGate) => Promise<GateVerdict>,
): Promise<SettledBenchDecision> {
  let cur: BenchDecision | SettledBenchDecision = d;
  for (;;) {
    if (cur.kind === "ignore" || cur.kind === "silent") return cur;
    if (!("gate" in cur)) return cur;
    const granted = cur.gate === null ? true : await consume(cur.gate);
    cur = afterGate(cur, granted, input, policy);
  }
}
