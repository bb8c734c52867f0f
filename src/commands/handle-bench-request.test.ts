import assert from "node:assert/strict";
import { test } from "node:test";
import { benchSchema } from "../config/schema.ts";
import { withKeptKernels } from "../domain/flow-estimate.ts";
import { type BenchGate, type BenchPolicy, type BenchRequestInput, describeBenchRun, handleBenchRequest, settleBenchDecision } from "./handle-bench-request.ts";

const policy: BenchPolicy = {
  limits: { maxCells: 4, minRounds: 2, maxRounds: 8, maxRunnerMinutes: 60, pools: ["local"], rateLimit: { perSender: 2, global: 5, windowHours: 24, refusalsPerHour: 3 } },
  allowlist: [],
  maintainers: ["maint@kernel.example"],
  trustedAuthservIds: ["mx.example"],
  estimateSeconds: () => 60,
};
const tree = { bench: benchSchema.parse({}), stages: ["apply" as const, "bench" as const], pool: "local" };
const gh = (association: string, command: string, more: Partial<BenchRequestInput> = {}): BenchRequestInput => ({
  sender: { channel: "github", login: "Someone", association, type: "User" },
  command,
  place: "o/r#7",
  tree,
  pending: null,
  ...more,
});
const mail = (auth: string[], command: string, more: Partial<BenchRequestInput> = {}): BenchRequestInput => ({
  sender: { channel: "mail", from: "Maint <maint@kernel.example>", authenticationResults: auth },
  command,
  place: "thread-1",
  tree,
  pending: null,
  ...more,
});
const PASS = ["mx.example; dkim=pass header.d=kernel.example"];

test("both channels: one decision for the same request, rendered for the channel", () => {
  const a = handleBenchRequest(gh("MEMBER", "/bench sizes=1,64 topology=loopback rounds=2"), policy);
  const b = handleBenchRequest(mail(PASS, "/bench sizes=1,64 topology=loopback rounds=2"), policy);
  assert.equal(a.kind, "run");
  assert.equal(b.kind, "run");
  if (a.kind !== "run" || b.kind !== "run") return;
  assert.deepEqual(a.bench, b.bench);
  assert.deepEqual(a.gate, { kind: "request", sender: "github:someone" });
  assert.deepEqual(b.gate, { kind: "request", sender: "mail:maint@kernel.example" });
  const e1 = handleBenchRequest(gh("MEMBER", "/bench colour=blue"), policy);
  const e2 = handleBenchRequest(mail(PASS, "/bench colour=blue"), policy);
  assert.ok(e1.kind === "reply" && e1.reply.startsWith("**patchbench:** I could not read that `/bench`: unknown key \"colour\""));
  assert.ok(e2.kind === "reply" && e2.reply.startsWith("patchbench: I could not read that /bench: unknown key \"colour\""));
  const big = handleBenchRequest(gh("OWNER", "/bench sizes=1,2,3,4,5"), policy);
  assert.ok(big.kind === "reply" && /the limit is 4/.test(big.reply));
});

test("strangers: a GitHub refusal gated one per place per day; unauthenticated mail gets no answer at all", () => {
  const r = handleBenchRequest(gh("NONE", "/bench"), policy);
  assert.equal(r.kind, "refuse");
  if (r.kind !== "refuse") return;
  assert.match(r.reply ?? "", /@Someone thank you for your interest/);
  assert.deepEqual(r.gate, { kind: "refusal", sender: "github:someone", place: "o/r#7" });
  const m = handleBenchRequest(mail([], "/bench"), policy);
  assert.deepEqual(m, { kind: "refuse", reason: m.kind === "refuse" ? m.reason : "", reply: null, gate: null });
  assert.equal(handleBenchRequest(gh("MEMBER", "no command here"), policy).kind, "ignore");
});

test("one pending /bench per place; a mail outside any series thread is told so", () => {
  const p = handleBenchRequest(gh("MEMBER", "/bench", { pending: { flowId: "flow-1", request: "/bench rounds=2" } }), policy);
  assert.ok(p.kind === "reply" && /already pending \(\/bench rounds=2\)/.test(p.reply));
  const n = handleBenchRequest(mail(PASS, "/bench", { tree: null }), policy);
  assert.ok(n.kind === "reply" && /not in the thread of a patch series/.test(n.reply));
});

test("settle: a request over its limit becomes one rate-limit reply, then silence", async () => {
  const input = gh("MEMBER", "/bench sizes=1 rounds=2");
  const d = handleBenchRequest(input, policy);
  const seen: BenchGate[] = [];
  const deny = (refusalOk: boolean) => async (g: BenchGate) => {
    seen.push(g);
    return g.kind === "refusal" ? refusalOk : false;
  };
  const first = await settleBenchDecision(d, input, policy, deny(true));
  assert.equal(first.kind, "reply");
  assert.ok(first.kind === "reply" && /too many `\/bench` requests \(at most 2 per person and 5 in all per 24 h\)/.test(first.reply));
  assert.deepEqual(seen.map((g) => g.kind), ["request", "refusal"]);
  const again = await settleBenchDecision(d, input, policy, deny(false));
  assert.equal(again.kind, "silent");
  const ok = await settleBenchDecision(d, input, policy, async () => true);
  assert.equal(ok.kind, "run");
});

test("settle: a refusal past everyone's hourly cap is silent, and only the first such silence is logged loudly", async () => {
  const input = gh("NONE", "/bench");
  const d = handleBenchRequest(input, policy);
  const first = await settleBenchDecision(d, input, policy, async () => "capped-first");
  assert.ok(first.kind === "silent" && !first.quiet && /refusal replies capped at 3 per hour/.test(first.reason), JSON.stringify(first));
  const later = await settleBenchDecision(d, input, policy, async () => "capped");
  assert.ok(later.kind === "silent" && later.quiet === true, JSON.stringify(later));
  // An authorised sender over the request limit: its "too many requests" answer is a refusal like any other.
  const member = gh("MEMBER", "/bench sizes=1 rounds=2");
  const over = await settleBenchDecision(handleBenchRequest(member, policy), member, policy, async (g) => (g.kind === "refusal" ? "capped" : false));
  assert.equal(over.kind, "silent");
});

test("describeBenchRun: builds and where their times come from, or the kept kernels booted again", () => {
  const bench = benchSchema.parse({ tests: ["TCP_RR"], sizes: [1], topologies: ["loopback"] });
  const costs = { baseBuildSec: 500, candidateBuildSec: 90, bootSec: 25, rebootSec: 25, source: "the last 2 build(s) of this tree" };
  assert.equal(
    describeBenchRun({ bench, sides: "kernels" }, costs),
    "base and candidate kernels built (or reused when kept) and booted, 1 cell(s) measured in each; build times from the last 2 build(s) of this tree",
  );
  assert.equal(
    describeBenchRun({ bench, sides: "kernels" }, withKeptKernels(costs, "flow-9")),
    "the base and candidate kernels kept from flow-9 booted again (no build), 1 cell(s) measured in each",
  );
  const arms = [{ name: "splice", settings: [{ kind: "bpf-cgroup", source: "series", object: "tcp_splice_sockops" }, { kind: "sysctl", key: "net.core.busy_read", value: "50" }] }];
  assert.equal(
    describeBenchRun({ bench: benchSchema.parse({ tests: ["TCP_RR"], sizes: [1], topologies: ["loopback"], arms }), sides: "kernels" }, withKeptKernels(costs, "flow-9")),
    "the base and candidate kernels kept from flow-9 booted again (no build) and arm splice (with tcp_splice_sockops.c of the series' BPF selftests, compiled by the build stage) on the candidate, 1 cell(s) measured in each",
  );
});

test("an arm's series program the candidate tree does not have: refused when asked, like any plan refusal, on both channels", () => {
  const kernels = { ...tree, stages: ["apply" as const, "build" as const, "bench" as const] };
  const known = {
    programs: new Set(["tcp_splice_sockops", "pb_sockops_busy_poll", "pb_tc_delay", "old_prog"].filter((n) => n !== "old_prog")),
    added: ["pb_sockops_busy_poll", "pb_tc_delay"],
    deleted: ["old_prog"],
    base: "0123456789abcdef0123456789abcdef01234567",
  };
  const cmd = "/bench tests=TCP_RR sizes=1 topology=loopback arm=bpf-cgroup=pb_busy,tc-bpf=pb_tc_delay";
  const a = handleBenchRequest(gh("MEMBER", cmd, { tree: kernels, candidatePrograms: known }), policy);
  const b = handleBenchRequest(mail(PASS, cmd, { tree: kernels, candidatePrograms: known }), policy);
  const why =
    "arm bpf-cgroup=pb_busy+tc-bpf=pb_tc_delay: bpf-cgroup=pb_busy: tools/testing/selftests/bpf/progs/pb_busy.c is neither added by the series nor in its base tree (0123456789ab); programs the series adds: pb_sockops_busy_poll, pb_tc_delay";
  assert.deepEqual(a, {
    kind: "reply",
    reason: `refused: ${why}`,
    reply: `**patchbench:** I cannot run that \`/bench\`: ${why}\n`,
    gate: { kind: "request", sender: "github:someone" },
  });
  assert.deepEqual(b, { kind: "reply", reason: `refused: ${why}`, reply: `patchbench: I cannot run that /bench: ${why}\n`, gate: { kind: "request", sender: "mail:maint@kernel.example" } });
  // A program the series deletes is said so; more than ten added programs are counted, not listed.
  const many = { ...known, added: Array.from({ length: 12 }, (_, i) => `pb_${i}`) };
  const d = handleBenchRequest(mail(PASS, "/bench sizes=1 arm=tc-bpf=old_prog", { tree: kernels, candidatePrograms: many }), policy);
  assert.equal(
    d.kind === "reply" ? d.reply : d.kind,
    "patchbench: I cannot run that /bench: arm tc-bpf=old_prog: tc-bpf=old_prog: tools/testing/selftests/bpf/progs/old_prog.c is deleted by the series; programs the series adds: pb_0, pb_1, pb_2, pb_3, pb_4, pb_5, pb_6, pb_7, pb_8, pb_9 and 2 more\n",
  );
  // Programs the tree has, or a tree not known (null or absent): the request runs, as before.
  assert.equal(handleBenchRequest(gh("MEMBER", "/bench sizes=1 arm=bpf-cgroup=tcp_splice_sockops", { tree: kernels, candidatePrograms: known }), policy).kind, "run");
  assert.equal(handleBenchRequest(gh("MEMBER", cmd, { tree: kernels, candidatePrograms: null }), policy).kind, "run");
  assert.equal(handleBenchRequest(mail(PASS, cmd, { tree: kernels }), policy).kind, "run");
  // No programs known to be added: no list.
  const none = handleBenchRequest(gh("MEMBER", "/bench sizes=1 arm=bpf-cgroup=nope", { tree: kernels, candidatePrograms: { ...known, added: [], base: null } }), policy);
  assert.equal(
    none.kind === "reply" ? none.reply : none.kind,
    "**patchbench:** I cannot run that `/bench`: arm bpf-cgroup=nope: bpf-cgroup=nope: tools/testing/selftests/bpf/progs/nope.c is neither added by the series nor in its base tree\n",
  );
});
