import assert from "node:assert/strict";
import { test } from "node:test";
import { benchSchema } from "../config/schema.ts";
import { authorizeGithub, authorizeMail, parseAuthenticationResults } from "./authorize-bench.ts";
import { type BenchRequest, MAX_COMMAND_LENGTH, parseBenchCommand } from "./parse-bench-command.ts";
import { type BenchLimits, planBenchRequest } from "./plan-bench-request.ts";

test("parseBenchCommand: the documented forms", () => {
  assert.deepEqual(parseBenchCommand("/bench"), { kind: "run", request: {} });
  assert.deepEqual(parseBenchCommand("/bench help"), { kind: "help" });
  assert.deepEqual(parseBenchCommand("LGTM, but:\r\n\r\n/bench tests=TCP_RR,TCP_STREAM sizes=1,64,1K,16K,64K topology=loopback,container kernel=host variant=busy_read=50 rounds=4 runner=local\nthanks"), {
    kind: "run",
    request: {
      tests: ["TCP_RR", "TCP_STREAM"],
      sizes: [1, 64, 1024, 16384, 65536],
      topologies: ["loopback", "container"],
      kernel: "host",
      variant: { knob: "busy_read", key: "net.core.busy_read", value: 50 },
      rounds: 4,
      runner: "local",
    },
  });
  assert.deepEqual(parseBenchCommand("/bench tests=TCP_RR sizes=1 arm=busy_read=50,busy_poll=50"), {
    kind: "run",
    request: {
      tests: ["TCP_RR"],
      sizes: [1],
      arm: {
        name: "busy_read=50+busy_poll=50",
        settings: [
          { knob: "busy_read", key: "net.core.busy_read", value: 50 },
          { knob: "busy_poll", key: "net.core.busy_poll", value: 50 },
        ],
        programs: [],
      },
    },
  });
  assert.deepEqual(parseBenchCommand("/bench kernel=series"), { kind: "run", request: { kernel: "series" } });
  assert.deepEqual(parseBenchCommand("no command here\n/benchmark please"), { kind: "none" });
  assert.deepEqual(parseBenchCommand("quoted: > /bench rounds=2"), { kind: "none" });
});

const errorCases: [string, string, RegExp][] = [
  ["unknown key", "/bench test=TCP_RR", /unknown key "test"; valid keys: tests, sizes, topology, arm, kernel, variant, rounds, runner/],
  ["duplicate key", "/bench rounds=2 rounds=4", /key "rounds" is given twice/],
  ["unknown test", "/bench tests=TCP_RR,SCTP_RR", /unknown test "SCTP_RR"; valid: TCP_RR, TCP_CRR, TCP_STREAM, UDP_RR/],
  ["duplicate value", "/bench tests=TCP_RR,TCP_RR", /listed twice/],
  ["same size twice via K", "/bench sizes=1024,1K", /a size is listed twice/],
  ["size out of range", "/bench sizes=2048K", /"2048K" is not a size/],
  ["size zero", "/bench sizes=0", /"0" is not a size/],
  ["negative rounds", "/bench rounds=-1", /rounds: expected a whole number/],
  ["bad topology", "/bench topology=wan", /unknown topology "wan"; valid: loopback, container, container-bridge, remote/],
  ["variant not allowlisted", "/bench kernel=host variant=tcp_rmem=1", /KNOB one of busy_read, busy_poll/],
  ["variant out of range", "/bench kernel=host variant=busy_read=5000", /busy_read must be in 0\.\.1000/],
  ["arm with kernel=host", "/bench kernel=host arm=busy_read=50", /kernel=host has none/],
  ["arm not allowlisted", "/bench arm=tcp_rmem=1", /arm: expected KNOB=N items with KNOB one of busy_read, busy_poll/],
  ["arm knob twice", "/bench arm=busy_read=50,busy_read=10", /busy_read is given twice/],
  ["arm out of range", "/bench arm=busy_poll=5000", /busy_poll must be in 0\.\.1000/],
  ["arm with a BPF object path", "/bench arm=bpf-cgroup=splice.bpf.o", /bpf-cgroup takes a program of the series' tools\/testing\/selftests\/bpf\/progs, by its file name without \.c .*got "splice\.bpf\.o"/],
  ["arm with a path to a program", "/bench arm=tc-bpf=../../../etc/passwd", /tc-bpf takes a program .*got "\.\.\/\.\.\/\.\.\/etc\/passwd"/],
  ["arm with an empty program", "/bench arm=bpf-cgroup=", /bpf-cgroup takes a program/],
  ["arm with two sock_ops programs", "/bench arm=bpf-cgroup=a,bpf-cgroup=b", /bpf-cgroup is given twice/],
  ["unknown kernel", "/bench kernel=next", /kernel: expected host or series, got "next"/],
  ["empty list item", "/bench sizes=1,,64", /empty item/],
  ["missing value", "/bench rounds=", /rounds: missing value/],
  ["not key=value", "/bench please", /"please" is not key=value/],
  ["shell metacharacters", "/bench runner=local;rm\x24{IFS}-rf", /not a pool name/],
  ["command substitution", "/bench sizes=$(id)", /"\$\(id\)" is not a size/],
  ["backticks", "/bench tests=`reboot`", /unknown test "`reboot`"/],
  ["Cyrillic a in a key", "/bench v\u0430riant=busy_read=50", /unexpected character "а" \(U\+0430\)/],
  ["fullwidth digits", "/bench rounds=\uff14", /U\+FF14/],
  ["zero-width space", "/bench rounds=4\u200b", /U\+200B/],
];

for (const [name, input, expected] of errorCases) {
  test(`parseBenchCommand refuses: ${name}`, () => {
    const r = parseBenchCommand(input);
    assert.equal(r.kind, "error", JSON.stringify(r));
    assert.match((r as { message: string }).message, expected);
  });
}

test("parseBenchCommand: look-alike commands are not commands", () => {
  assert.deepEqual(parseBenchCommand("\uff0f\uff42\uff45\uff4e\uff43\uff48 rounds=4"), { kind: "none" }); // fullwidth "/bench"
  assert.deepEqual(parseBenchCommand("/b\u0435nch rounds=4"), { kind: "none" }); // Cyrillic е
});

test("parseBenchCommand: huge comments are scanned without trouble, long lines refused", () => {
  const filler = Array.from({ length: 10_000 }, (_, i) => `line ${i} ${"x".repeat(50)}`).join("\n");
  assert.deepEqual(parseBenchCommand(`${filler}\n/bench rounds=4\n${filler}`), { kind: "run", request: { rounds: 4 } });
  assert.deepEqual(parseBenchCommand(filler), { kind: "none" });
  const long = `/bench sizes=${Array.from({ length: 200 }, (_, i) => i + 1).join(",")}`;
  const r = parseBenchCommand(long);
  assert.equal(r.kind, "error");
  assert.match((r as { message: string }).message, new RegExp(`limit is ${MAX_COMMAND_LENGTH}`));
});

const base = benchSchema.parse({});
const limits: BenchLimits = { maxCells: 12, minRounds: 2, maxRounds: 10, maxRunnerMinutes: 30, pools: ["local", "big"] };
// A stand-in estimator with the real one's shape: cells × rounds × sides, plus 600 s when kernels are built.
const estimate = (b: typeof base, kernels: boolean) =>
  b.tests.length * b.sizes.length * b.topologies.length * b.maxRounds * (2 + b.arms.length) * 10 + (kernels ? 600 : 0);
const building = { bench: base, stages: ["apply", "build", "selftests", "bench"] as const };
const hostOnly = { bench: base, stages: ["apply", "bench"] as const };

test("planBenchRequest: kernel=host is the sysctl A/B on the runner's kernel, without build or selftests", () => {
  const ok = planBenchRequest(
    { ...building, stages: [...building.stages] },
    { sizes: [1], topologies: ["loopback"], rounds: 4, kernel: "host", variant: { knob: "busy_read", key: "net.core.busy_read", value: 100 } },
    limits,
    "local",
    estimate,
  );
  assert.equal(ok.ok, true);
  if (!ok.ok) return;
  assert.deepEqual(ok.bench.sizes, [1]);
  assert.equal(ok.bench.rounds, 4);
  assert.equal(ok.bench.maxRounds, 4);
  assert.equal(ok.bench.variants[1]!.name, "busy_read=100");
  assert.equal(ok.bench.variants[0]!.name, "busy_read=0");
  assert.equal(ok.bench.sides, "settings");
  assert.deepEqual(ok.stages, ["apply", "bench"]);
  assert.equal(ok.sides, "settings");
  assert.equal(ok.estimateSec, 1 * 1 * 1 * 4 * 2 * 10);
  assert.equal(ok.pool, "local");
});

test("planBenchRequest: by default base vs candidate kernel, builds counted; an arm is one more side", () => {
  const ok = planBenchRequest({ ...building, stages: [...building.stages] }, { tests: ["TCP_RR"], sizes: [1], topologies: ["loopback"], rounds: 4 }, limits, "local", estimate);
  assert.equal(ok.ok, true);
  if (!ok.ok) return;
  assert.equal(ok.sides, "kernels");
  assert.equal(ok.bench.sides, "kernels");
  assert.deepEqual(ok.stages, ["apply", "build", "selftests", "bench"]);
  assert.equal(ok.estimateSec, 4 * 2 * 10 + 600);
  const arm = { name: "busy_read=50", settings: [{ knob: "busy_read", key: "net.core.busy_read", value: 50 }], programs: [] };
  const withArm = planBenchRequest({ ...building, stages: [...building.stages] }, { tests: ["TCP_RR"], sizes: [1], topologies: ["loopback"], rounds: 4, arm }, limits, "local", estimate);
  assert.equal(withArm.ok, true);
  if (!withArm.ok) return;
  assert.deepEqual(withArm.bench.arms, [{ name: "busy_read=50", settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "50" }], claimedAs: null }]);
  assert.equal(withArm.estimateSec, 4 * 3 * 10 + 600);
  // A tree without a build stage has no kernels to compare: the host A/B, and no arms.
  const plain = planBenchRequest({ ...hostOnly, stages: [...hostOnly.stages] }, { sizes: [1], topologies: ["loopback"] }, limits, "local", estimate);
  assert.equal(plain.ok && plain.sides, "settings");
  // There variant= needs no kernel=host: the host A/B is the only kind.
  const variant = planBenchRequest({ ...hostOnly, stages: [...hostOnly.stages] }, { sizes: [1], topologies: ["loopback"], variant: { knob: "busy_read", key: "net.core.busy_read", value: 50 } }, limits, "local", estimate);
  assert.equal(variant.ok && variant.bench.variants[1]!.name, "busy_read=50");
});

test("an arm with programs of the series' own BPF selftests: parsed by name, planned as series objects for the build stage", () => {
  const parsed = parseBenchCommand("/bench tests=TCP_RR sizes=1 arm=busy_read=50,bpf-cgroup=tcp_splice_sockops,tc-bpf=pb-delay");
  assert.equal(parsed.kind, "run");
  if (parsed.kind !== "run") return;
  const arm = parsed.request.arm!;
  assert.deepEqual(arm.programs, [
    { kind: "bpf-cgroup", name: "tcp_splice_sockops" },
    { kind: "tc-bpf", name: "pb-delay" },
  ]);
  // "busy_read=50+bpf-cgroup=tcp_splice_sockops+tc-bpf=pb-delay" is over the 40 characters of a side's name.
  assert.equal(arm.name.length, 40);
  assert.match(arm.name, /^busy_read=50\+bpf-cgroup=tcp_spl\+[0-9a-f]{8}$/);
  assert.equal(parseBenchCommand("/bench arm=bpf-cgroup=x").kind === "run" && (parseBenchCommand("/bench arm=bpf-cgroup=x") as { request: BenchRequest }).request.arm?.name, "bpf-cgroup=x");
  const planned = planBenchRequest({ ...building, stages: [...building.stages] }, { ...parsed.request, topologies: ["loopback"], rounds: 4 }, limits, "local", estimate);
  assert.equal(planned.ok, true);
  if (!planned.ok) return;
  assert.deepEqual(planned.bench.arms.at(-1)?.settings, [
    { kind: "sysctl", key: "net.core.busy_read", value: "50" },
    { kind: "bpf-cgroup", object: "tcp_splice_sockops", source: "series" },
    { kind: "tc-bpf", object: "pb-delay", section: "tc", side: "client", source: "series" },
  ]);
  // What a flow's stage job is checked against takes the plan as it is.
  assert.equal(benchSchema.safeParse(planned.bench).success, true);
});

test("planBenchRequest: refusals name the limit, builds included", () => {
  const arm = { name: "busy_read=50", settings: [{ knob: "busy_read", key: "net.core.busy_read", value: 50 }], programs: [] };
  const cases: [Parameters<typeof planBenchRequest>[1], RegExp, typeof building | typeof hostOnly][] = [
    [{}, /10 cells \(1 tests x 5 sizes x 2 topologies\)|estimated runner time/, building],
    [{ rounds: 40, sizes: [1] }, /rounds: must be in 2\.\.10, got 40/, building],
    [{ runner: "gpu", sizes: [1] }, /unknown pool "gpu"; valid: local, big/, building],
    [{ tests: ["TCP_RR", "TCP_CRR", "UDP_RR"], sizes: [1, 64, 1024] }, /18 cells .* the limit is 12/, building],
    [{ kernel: "host", variant: { knob: "busy_read", key: "net.core.busy_read", value: 0 }, sizes: [1] }, /is the baseline/, building],
    // 8 cells × 10 rounds × 2 sides × 10 s = 1600 s fits 30 min; with the builds' 600 s it does not.
    [{ tests: ["TCP_RR", "TCP_CRR", "UDP_RR", "TCP_STREAM"], sizes: [1, 64], topologies: ["loopback"] }, /estimated runner time 37 min \(kernel builds and boots included\) exceeds the limit of 30 min/, building],
    [{ variant: { knob: "busy_read", key: "net.core.busy_read", value: 50 }, sizes: [1] }, /add kernel=host for that, or use arm=/, building],
    [{ kernel: "series", sizes: [1] }, /this tree builds no kernels \(stages: apply, bench\); only kernel=host/, hostOnly],
    [{ arm, sizes: [1] }, /an arm is a side on the candidate kernel, and this tree builds no kernels/, hostOnly],
    [{ arm, sizes: [1], topologies: ["loopback"] }, /already an arm of this tree/, { ...building, bench: { ...base, arms: [{ name: "busy_read=50", settings: [], claimedAs: null }] } }],
  ];
  for (const [req, re, tree] of cases) {
    const r = planBenchRequest({ ...tree, stages: [...tree.stages] }, req, limits, "local", estimate);
    assert.equal(r.ok, false, JSON.stringify(req));
    assert.match((r as { message: string }).message, re);
  }
  // The same matrix on the runner's own kernel fits: only the builds tipped it over.
  const host = planBenchRequest({ ...building, stages: [...building.stages] }, { tests: ["TCP_RR", "TCP_CRR", "UDP_RR", "TCP_STREAM"], sizes: [1, 64], topologies: ["loopback"], kernel: "host" }, limits, "local", estimate);
  assert.equal(host.ok, true);
});

test("authorizeGithub: owners, members, collaborators and the allowlist; nobody else", () => {
  const policy = { allowlist: ["Perf-Helper"] };
  for (const a of ["OWNER", "MEMBER", "COLLABORATOR"]) assert.equal(authorizeGithub({ login: "x", association: a }, policy).allowed, true);
  for (const a of ["CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE", "owner"]) {
    const d = authorizeGithub({ login: "x", association: a }, policy);
    assert.equal(d.allowed, false, a);
  }
  assert.equal(authorizeGithub({ login: "perf-helper", association: "NONE" }, policy).allowed, true);
  assert.equal(authorizeGithub({ login: "dependabot[bot]", association: "MEMBER", type: "Bot" }, policy).allowed, false);
  assert.match(authorizeGithub({ login: "x", association: "NONE" }, policy).reason, /not associated with the repository/);
});

test("authorizeMail: a maintainer, and dkim=pass for the From domain from a trusted authserv-id; nothing else", () => {
  const policy = { maintainers: ["Ada@Kernel.org"], trustedAuthservIds: ["mx.example"] };
  const from = "Ada Maintainer <ada@kernel.org>";
  const pass = "mx.example;\r\n\tdkim=pass (2048-bit key) header.d=kernel.org header.i=@kernel.org header.b=\"abc\"; spf=pass";
  assert.equal(authorizeMail({ from, authenticationResults: [pass] }, policy).allowed, true);
  // No header at all, or only one by an authserv-id we do not run: refused (anyone can write them).
  assert.match(authorizeMail({ from, authenticationResults: [] }, policy).reason, /no Authentication-Results of a trusted authserv-id/);
  const forged = "smtp.subspace.kernel.org; dkim=pass header.d=kernel.org";
  assert.equal(authorizeMail({ from, authenticationResults: [forged] }, policy).allowed, false);
  // Empty trusted list: off, whatever the headers say.
  assert.match(authorizeMail({ from, authenticationResults: [pass] }, { ...policy, trustedAuthservIds: [] }).reason, /by mail is off/);
  assert.equal(authorizeMail({ from: "Eve <eve@example.org>", authenticationResults: [pass] }, policy).allowed, false);
  const fail = "mx.example; dkim=fail (signature verification failed) header.d=kernel.org; spf=softfail";
  const d = authorizeMail({ from, authenticationResults: [fail] }, policy);
  assert.equal(d.allowed, false);
  assert.match(d.reason, /dkim=fail \(kernel\.org\)/);
  // Strict alignment: another domain, a parent or a subdomain of the From domain do not count.
  for (const dom of ["evil.example", "org", "mail.kernel.org"]) {
    assert.equal(authorizeMail({ from, authenticationResults: [`mx.example; dkim=pass header.d=${dom}`] }, policy).allowed, false, dom);
  }
  // header.i counts when header.d is absent.
  assert.equal(authorizeMail({ from, authenticationResults: ["mx.example 1; dkim=pass header.i=ada@kernel.org"] }, policy).allowed, true);
  // Two From addresses: whose would it be?
  assert.equal(authorizeMail({ from: "Ada <ada@kernel.org>, Eve <eve@evil.example>", authenticationResults: [pass] }, policy).allowed, false);
  assert.deepEqual(parseAuthenticationResults([pass]), [{ authservId: "mx.example", result: "pass", domain: "kernel.org", identityDomain: "kernel.org" }]);
});
