import { z } from "zod";
import { historySchema } from "./history-schema.ts";
import { POOL_NAME } from "../queue/queue-names.ts";
import { BENCH_TESTS, SOCKOPTS, TOPOLOGIES } from "../domain/bench.ts";
import { webSchema } from "./web-schema.ts";
import { patchworkSchema } from "./patchwork-schema.ts";
import { fromSeries, SERIES_BPF_NAME, SERIES_BPF_PROGS_DIR } from "../domain/series-bpf-program.ts";

const POOL_NAME_MESSAGE = "a pool name is letters, digits, _ and - (it names a queue and a systemd unit)";

/**
 * The configuration schema. Every option documents itself with `describe`;
 * README's configuration table and `patchbench config check` are built on it.
 * Secrets never come from files: only from the environment (see load-config).
 */

const sysctlKey = z
  .string()
  .regex(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/, "a sysctl key such as net.core.busy_read");

const bpfSource = z
  .enum(["runner", "series"])
  .default("runner")
  .describe(
    `Where the object comes from: runner (a file on the runner) or series (a program of the candidate tree's ${SERIES_BPF_PROGS_DIR}, named without .c, compiled by the build stage; arms only).`,
  );

export const variantSettingSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("sysctl").describe("Set a sysctl for this variant's runs; restored afterwards."),
    key: sysctlKey,
    value: z.string().regex(/^[0-9]+( [0-9]+)*$/, "digits (space-separated for vector sysctls)"),
  }),
  z.object({
    kind: z.literal("kernel").describe("Boot the base or the candidate kernel (boot targets other than host)."),
    ref: z.enum(["base", "candidate"]),
  }),
  z.object({
    kind: z
      .literal("sockopt")
      .describe("netperf test-specific socket option: nodelay (-D), local-buffer (-s bytes), remote-buffer (-S bytes)."),
    option: z.enum(SOCKOPTS),
    value: z.string().regex(/^[0-9]{1,10}$/, "bytes").optional(),
  }),
  z.object({
    kind: z
      .literal("bpf-cgroup")
      .describe("Attach the sock_ops program of a BPF object to a child cgroup v2 holding netperf and netserver (needs bpftool)."),
    object: z.string().min(1),
    program: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/).optional(),
    source: bpfSource,
  }),
  z.object({
    kind: z.literal("tc-bpf").describe("Attach a tc-BPF program (direct-action) to the egress of a namespace topology's veth."),
    object: z.string().min(1),
    section: z.string().regex(/^[A-Za-z0-9_./-]{1,64}$/).default("tc"),
    side: z.enum(["client", "server"]).default("client"),
    source: bpfSource,
  }),
]).superRefine((s, ctx) => {
  if ((s.kind === "bpf-cgroup" || s.kind === "tc-bpf") && s.source === "series" && !SERIES_BPF_NAME.test(s.object)) {
    ctx.addIssue({
      code: "custom",
      path: ["object"],
      message: `with source: series, object names a program of ${SERIES_BPF_PROGS_DIR} (its file name without .c, e.g. tcp_splice_sockops), got "${s.object}"`,
    });
  }
});

/** A program from the series is compiled from the candidate tree: only an arm (on the candidate kernel) can carry it. */
const notFromSeries = (where: string) =>
  variantSettingSchema.refine((s) => !fromSeries(s), {
    message: `a program from the series exists only in the candidate kernel's tree: name it in an arm, not in ${where}`,
  });

export const variantSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.=+-]{1,40}$/, "1-40 characters of A-Z a-z 0-9 _ . = + -"),
  settings: z.array(notFromSeries("a settings variant (the runner's own kernel)")).default([]),
}).strict();

/** A setting a kernel side can carry inside its guest: everything but another kernel. */
const guestSettingSchema = variantSettingSchema.refine((s) => s.kind !== "kernel", {
  message: "an arm runs on the candidate kernel: its settings are sysctl, sockopt, bpf-cgroup or tc-bpf",
});

export const armSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.=+-]{1,40}$/, "1-40 characters of A-Z a-z 0-9 _ . = + -")
      .refine((n) => n !== "base" && n !== "candidate", 'an arm is not called "base" or "candidate"')
      .describe("The arm's label in reports, e.g. busy_read=50."),
    settings: z.array(guestSettingSchema).min(1).describe("Settings inside the candidate kernel on top of kernelSettings (an arm's sysctl replaces a kernelSettings one with the same key)."),
    claimedAs: z
      .object({ from: z.string().min(1).max(60), to: z.string().min(1).max(60) })
      .nullable()
      .default(null)
      .describe(
        'How the series\' claims name the plain candidate and this arm ("baseline TCP" -> "splice + busy-poll"): such a claim is checked against this arm\'s cells against the candidate. null: only claims naming "candidate" -> the arm\'s name.',
      ),
  })
  .strict();

/** Values that reach the peer's command line are checked here: an IP literal and a port (remote-peer.ts). */
const benchRemoteSchema = z
  .object({
    host: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.:-]*$/, "a host name or address").describe("ssh address of the peer."),
    port: z.number().int().min(1).max(65535).default(22).describe("ssh port of the peer."),
    user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, "a user name").default("root").describe("ssh user on the peer."),
    identityFile: z.string().min(1).describe("Private key file for the peer (never logged)."),
    knownHostsFile: z.string().min(1).describe("Pinned host key of the peer (known_hosts format); an unknown or changed key is refused."),
    dataAddr: z.ipv4().describe("The peer's address on the data network: netserver listens there, netperf targets it."),
    netserverPort: z.number().int().min(1024).max(65535).default(12866).describe("Port of patchbench's netserver on the peer."),
    connectTimeoutSec: z.number().int().min(1).max(120).default(10).describe("ssh connect timeout."),
  })
  .strict();

export const benchSchema = z
  .object({
    tests: z.array(z.enum(BENCH_TESTS)).min(1).default(["TCP_RR"]).describe("netperf tests to run."),
    sizes: z
      .array(z.number().int().min(1).max(1048576))
      .min(1)
      .default([1, 64, 1024, 16384, 65536])
      .describe("Request/response sizes in bytes."),
    topologies: z.array(z.enum(TOPOLOGIES)).min(1).default(["loopback", "container"]).describe("Network paths."),
    variants: z
      .array(variantSchema)
      .length(2)
      .default([
        { name: "busy_read=0", settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "0" }] },
        { name: "busy_read=50", settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "50" }] },
      ])
      .describe("Exactly two variants on the runner's own kernel: A (baseline) then B. Used when the sides are settings."),
    sides: z
      .enum(["auto", "kernels", "settings"])
      .default("auto")
      .describe(
        "What is compared. kernels: the base kernel against the candidate kernel (the series' own), each booted as a QEMU guest (see bootEvery) with the runner's userspace and the same kernelSettings; settings: the two variants on the runner's own kernel; auto: kernels when the flow built kernels, else settings.",
      ),
    bootEvery: z
      .enum(["round", "job", "side"])
      .default("round")
      .describe(
        "Kernel sides: round = every kernel is booted afresh for each round, so a difference between two boots of the same kernel cannot pass for the series' effect (the boot is the unit of replication); job = each kernel booted once per job, sides switched by pausing only (faster, but per-boot effects are not replicated); side = one kernel up at a time, booted at every change of side (what a box holding one kernel does; no two guests share the runner's CPUs or memory; pairing auto becomes side with it: a side runs its whole round on one boot, since cell pairing would switch kernels for every cell).",
      ),
    kernelSettings: z
      .array(notFromSeries("kernelSettings").refine((s) => s.kind !== "kernel", { message: "kernelSettings are applied inside both kernels: a kernel setting has no place there" }))
      .default([])
      .describe("Settings applied inside both kernels when the sides are kernels (sysctl, sockopt, bpf-cgroup, tc-bpf)."),
    arms: z
      .array(armSchema)
      .max(3)
      .default([])
      .superRefine((arms, ctx) => {
        const seen = new Set<string>();
        for (const [i, a] of arms.entries()) {
          if (seen.has(a.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, "name"], message: `arm name "${a.name}" is used twice` });
          seen.add(a.name);
        }
      })
      .describe(
        "Extra sides on the candidate kernel, for feature claims: each arm boots the candidate kernel again with kernelSettings plus its own settings (sysctl, sockopt, bpf-cgroup, tc-bpf: the object is copied into the guest; with source: series it is a program of the series' own BPF selftests, built by the build stage) and is compared with the plain candidate and with the base. Only with kernel sides.",
      ),
    rounds: z.number().int().min(2).max(64).default(6).describe("Rounds per variant before any extension."),
    maxRounds: z.number().int().min(2).max(128).default(16).describe("Cap for adaptive extension."),
    runsPerRound: z.number().int().min(1).max(20).default(3).describe("Measured netperf runs per cell and round."),
    durationSec: z.number().int().min(1).max(300).default(10).describe("netperf -l per run, seconds."),
    warmup: z.boolean().default(true).describe("One discarded warm-up run per cell and round."),
    design: z.enum(["ABBA", "ABAB"]).default("ABBA").describe("Interleaving of variants across rounds."),
    pairing: z
      .enum(["auto", "side", "cell"])
      .default("auto")
      .describe(
        "side: all cells of A, then all of B per round (needed when switching is a boot); cell: A and B back to back per cell (drift cancels within the pair); auto: cell (kernel sides switch by pausing one guest and resuming the other), side with bench.bootEvery: side.",
      ),
    warmupRounds: z
      .enum(["all", "first"])
      .default("all")
      .describe("Discarded warm-up run per cell in every round (all) or in the first round only (first)."),
    pinning: z
      .object({ local: z.number().int().min(0), remote: z.number().int().min(0) })
      .nullable()
      .default({ local: 0, remote: 1 })
      .describe("netperf -T local,remote CPU pinning; null disables."),
    budgetSec: z.number().int().min(10).default(3600).describe("Refuse plans estimated to take longer."),
    seed: z.number().int().default(1).describe("Seed for cell order shuffling."),
    remote: benchRemoteSchema
      .nullable()
      .default(null)
      .describe("The `remote` topology's peer: netserver runs there, started and stopped over ssh; null: no remote topology."),
  })
  .strict();

const kconfigLine = z
  .string()
  .regex(/^CONFIG_[A-Z0-9_]+=(y|m|n|[0-9]+|0x[0-9a-fA-F]+|"[^"\n]*")$/, 'a Kconfig line such as CONFIG_NET=y');

export const buildSchema = z
  .object({
    baseConfig: z
      .enum(["defconfig", "tinyconfig", "allnoconfig", "olddefconfig"])
      .default("defconfig")
      .describe("make target that creates the starting .config."),
    selftestsConfig: z
      .boolean()
      .default(true)
      .describe("Merge the tree's tools/testing/selftests/bpf/config fragment when it exists."),
    guestConfig: z
      .boolean()
      .default(true)
      .describe(
        "Merge patchbench's guest fragment (src/runner/guest/guest.config: virtio, 9p, serial console, veth, network namespaces, cgroup v2, BPF) so the kernel boots under QEMU with the runner's own userspace.",
      ),
    extras: z.array(kconfigLine).default([]).describe("Extra Kconfig lines merged last (per tree)."),
    target: z.string().regex(/^[A-Za-z0-9_.-]+$/).default("bzImage").describe("make target of the kernel build."),
    jobs: z.number().int().min(0).default(0).describe("make -j; 0 = the runner's CPU count."),
    ccache: z.boolean().default(true).describe("Compile through ccache when it is installed."),
    compareBase: z.boolean().default(true).describe("Also build the base commit to find warnings the series adds."),
    reuseKernels: z
      .boolean()
      .default(true)
      .describe(
        "Keep each built kernel (and each test_progs build) by commit, config and compiler (under the runner's artifacts, same retention), and use a kept one instead of building again: a base shared by many series, a /bench on a series already built.",
      ),
    timeoutSec: z.number().int().min(10).default(3600).describe("Deadline of one kernel build (process group killed)."),
    logMaxBytes: z.number().int().min(4096).default(8 * 1024 * 1024).describe("Build log kept per job (the tail)."),
    testProgs: z
      .string()
      .nullable()
      .default(null)
      .describe("test_progs binary on the runner (tools/testing/selftests/bpf); null: test_progs from PATH."),
  })
  .strict();

export const kselftestsSchema = z
  .object({
    tests: z
      .array(z.string().regex(/^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9_./+-]+$/, "a path under tools/testing/selftests, e.g. net/so_busy_poll.sh"))
      .default([])
      .describe("Kselftest programs (paths under tools/testing/selftests) the selftests stage runs inside the base and the candidate kernel."),
    fromSeries: z
      .boolean()
      .default(true)
      .describe("Also run the executables the series adds or changes under tools/testing/selftests (new tests are told apart)."),
    maxFromSeries: z.number().int().min(0).max(50).default(10).describe("Most series executables run per flow (the rest are listed as not run)."),
    timeoutSec: z.number().int().min(5).max(3600).default(300).describe("Deadline of one kselftest program inside a guest."),
  })
  .strict();

/** "name" or "name/subtest", as test_progs -t takes them (a name, never a pattern or a path). */
const TEST_PROGS_FILTER = /^[A-Za-z0-9_]+(?:\/[A-Za-z0-9_]+)?$/;

export const testProgsSchema = z
  .object({
    tests: z
      .array(z.string().regex(TEST_PROGS_FILTER, "a test_progs test, or test/subtest, e.g. tcpbpf_user or tcp_splice/busy_poll"))
      .default([])
      .describe("test_progs tests (test or test/subtest) run inside the base and the candidate kernel, with a test_progs built from each side's tree."),
    fromSeries: z
      .boolean()
      .default(true)
      .describe("Also run the test_progs tests the series adds or changes (tools/testing/selftests/bpf/prog_tests); new tests are told apart."),
    maxFromSeries: z.number().int().min(0).max(50).default(10).describe("Most series tests run per flow (the rest are listed as not run)."),
    timeoutSec: z.number().int().min(5).max(3600).default(600).describe("Deadline of one test_progs run inside a guest."),
    buildTimeoutSec: z.number().int().min(30).max(7200).default(1800).describe("Deadline of one side's test_progs build."),
  })
  .strict();

export const bootSchema = z
  .object({
    target: z.enum(["host", "qemu", "ssh"]).default("host").describe("Where kernels run: the runner itself, QEMU, or a machine over SSH."),
    timeoutSec: z.number().int().min(5).default(300).describe("Deadline from boot to the probe's last line."),
    qemu: z
      .object({
        binary: z.string().default("qemu-system-x86_64"),
        memoryMb: z.number().int().min(64).default(512),
        cpus: z.number().int().min(1).default(1),
        kvm: z.enum(["auto", "on", "off"]).default("auto").describe("auto: use /dev/kvm only when it opens read-write."),
        append: z.string().default("").describe("Extra kernel command line."),
      })
      .strict()
      .default({ binary: "qemu-system-x86_64", memoryMb: 512, cpus: 1, kvm: "auto", append: "" }),
    ssh: z
      .object({
        host: z.string().default("").describe("Target machine (address or name)."),
        port: z.number().int().min(1).max(65535).default(22),
        user: z.string().default("root"),
        identityFile: z.string().nullable().default(null).describe("Private key file (never logged)."),
        knownHostsFile: z.string().nullable().default(null).describe("Pinned host keys; null accepts new keys (first contact)."),
        remoteDir: z.string().default("/var/tmp/patchbench").describe("Where the kernel and probe are copied."),
        installCommand: z.array(z.string()).default([]).describe("argv run remotely after the copy; {kernel} is the copied image."),
        switchCommand: z
          .array(z.string())
          .default(["kexec", "-l", "{kernel}", "--reuse-cmdline"])
          .describe("argv that prepares the switch to {kernel} (kexec -l, or a bootloader one-shot entry)."),
        rebootCommand: z.array(z.string()).default(["systemctl", "kexec"]).describe("argv that reboots into it; the connection drops."),
        restoreCommand: z.array(z.string()).default(["systemctl", "reboot"]).describe("argv that switches back to the runner's own kernel."),
        bootDeadlineSec: z.number().int().min(5).default(600).describe("How long to wait for SSH after the switch."),
        bootIdCommand: z
          .array(z.string())
          .default(["cat", "/proc/sys/kernel/random/boot_id"])
          .describe("argv whose output changes on every boot: proves the switch happened."),
      })
      .strict()
      .default({
        host: "",
        port: 22,
        user: "root",
        identityFile: null,
        knownHostsFile: null,
        remoteDir: "/var/tmp/patchbench",
        installCommand: [],
        switchCommand: ["kexec", "-l", "{kernel}", "--reuse-cmdline"],
        rebootCommand: ["systemctl", "kexec"],
        restoreCommand: ["systemctl", "reboot"],
        bootDeadlineSec: 600,
        bootIdCommand: ["cat", "/proc/sys/kernel/random/boot_id"],
      }),
  })
  .strict();

export const treeSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]+$/),
    url: z.string().min(1).describe("Upstream git URL of the tree (fetched into the mirror)."),
    path: z
      .string()
      .nullable()
      .default(null)
      .describe("A local git repository used instead of cloning url (relative to the config file)."),
    branch: z.string().default("master").describe("Base branch."),
    lists: z.array(z.string()).default([]).describe("Mailing lists whose series target this tree."),
    tags: z.array(z.string()).default([]).describe("Subject tree tags that select this tree, e.g. bpf-next."),
    pool: z.string().regex(POOL_NAME, POOL_NAME_MESSAGE).default("local").describe("Runner pool that runs this tree's jobs."),
    stages: z
      .array(z.enum(["apply", "build", "selftests", "bench"]))
      .default(["apply", "selftests", "bench"])
      .describe("Runner stages, in order."),
    suites: z.array(z.string()).default(["host-probes"]).describe("Suites run by the selftests stage."),
    kselftests: kselftestsSchema
      .default(kselftestsSchema.parse({}))
      .describe("Kselftests (KTAP output) run in the base and the candidate kernel by the selftests stage when the flow built them."),
    testProgs: testProgsSchema
      .default(testProgsSchema.parse({}))
      .describe(
        "BPF selftests (test_progs) run in the base and the candidate kernel when the flow built them: the named tests, the test_progs suites of `suites` that apply, and the series' own; test_progs is built from each side's tree with only those tests.",
      ),
    checks: z
      .array(z.string())
      .default(["checkpatch", "signed-off-by", "fixes-tag"])
      .describe("Check plug-ins (src/checks) run in the apply stage."),
    build: buildSchema.default(buildSchema.parse({})).describe("Kernel build of the build stage."),
    boot: bootSchema.default(bootSchema.parse({})).describe("Boot target of the build stage and the selftests."),
    bench: benchSchema.default(benchSchema.parse({})),
    recipients: z
      .object({
        to: z.array(z.string()).default(["author"]).describe('"author", "list" or addresses.'),
        cc: z.array(z.string()).default(["list"]),
      })
      .default({ to: ["author"], cc: ["list"] }),
    allowBinary: z.boolean().default(false).describe("Accept binary patches."),
    allowSymlinks: z.boolean().default(false).describe("Accept patches that create symlinks."),
    history: historySchema.default(historySchema.parse({})).describe("The tree's tip measured on a schedule (patchbench history)."),
  })
  .strict()
  .superRefine((t, ctx) => {
    // A tip is measured as a kernel A/B: without a build and a bench there is nothing to chart.
    if (t.history.enabled && !(t.stages.includes("build") && t.stages.includes("bench"))) {
      ctx.addIssue({ code: "custom", path: ["history", "enabled"], message: "history needs the build and bench stages (a tip is measured as a kernel A/B)" });
    }
    if (t.history.enabled && t.bench.sides === "settings") {
      ctx.addIssue({ code: "custom", path: ["history", "enabled"], message: "history measures kernels: bench.sides settings would chart two settings on the runner's kernel, not the tips" });
    }
    if (t.bench.topologies.includes("remote") && t.bench.remote === null) {
      ctx.addIssue({ code: "custom", path: ["bench", "remote"], message: "the remote topology needs bench.remote (the peer's ssh access and data address)" });
    }
  });

/**
 * Patch states after which a series is not worth running by default: patchwork (or its
 * maintainers) say it is replaced, refused or already taken. As BPF CI's daemon, one patch in
 * such a state closes the whole series (kernel-patches-daemon Series.is_closed).
 */
export const PATCHWORK_CLOSING_STATES = ["superseded", "rejected", "accepted"] as const;

export const sourceSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("maildir").describe("Poll a local maildir (new/ and cur/)."),
    path: z.string(),
    intervalSec: z.number().int().min(1).default(30),
  }),
  z.object({
    kind: z.literal("mbox").describe("Read a local mbox once per change."),
    path: z.string(),
    intervalSec: z.number().int().min(1).default(30),
  }),
  z.object({
    kind: z
      .literal("public-inbox-http")
      .describe("Poll a public-inbox list over HTTP (lore's /<list>/new.atom, then /<list>/<msgid>/raw; threads by t.mbox.gz)."),
    url: z.string().url().describe("Server base URL, e.g. https://lore.kernel.org (the list is appended)."),
    list: z.string().regex(/^[A-Za-z0-9._-]+$/).describe("List name as in the URL, e.g. bpf."),
    intervalSec: z.number().int().min(10).default(300).describe("Seconds between polls; doubled after each failure (max 1 h)."),
  }),
  z.object({
    kind: z
      .literal("public-inbox-git")
      .describe("Follow a public-inbox v2 list through its git epochs (lore's recommended way for bots)."),
    url: z.string().url().describe("Server base URL, e.g. https://lore.kernel.org (epochs are <url>/<list>/<N>)."),
    list: z.string().regex(/^[A-Za-z0-9._-]+$/).describe("List name as in the URL, e.g. bpf."),
    intervalSec: z.number().int().min(10).default(300).describe("Seconds between git fetches; doubled after each failure (max 1 h)."),
    epochs: z
      .array(z.number().int().min(0))
      .optional()
      .describe("Epochs to read from their first commit (backfill). Unset: follow the newest epoch from now on."),
  }),
  z.object({
    kind: z.literal("patchwork").describe("Follow a patchwork project's series-completed events and read each series' mbox."),
    url: z.string().url().describe("Root of the patchwork instance, e.g. https://patchwork.kernel.org"),
    project: z.string().regex(/^[A-Za-z0-9._-]+$/).describe("Project link name, e.g. netdevbpf."),
    tokenEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/)
      .nullable()
      .default(null)
      .describe("Environment variable with an API token (reading needs none; a token may get a higher rate limit)."),
    intervalSec: z.number().int().min(10).default(300).describe("Seconds between polls; doubled after each failure (max 1 h)."),
    closingStates: z
      .array(z.string().regex(/^[a-z0-9-]+$/, "a patchwork state slug, e.g. changes-requested"))
      .default([...PATCHWORK_CLOSING_STATES])
      .describe("Patch states (slugs) that close the patch's series: not run, queued work withdrawn. [] closes nothing."),
  }),
]);

export const ingestSchema = z
  .object({
    incompleteAfterSec: z
      .number()
      .int()
      .min(0)
      .default(3600)
      .describe("A series missing patches waits this long after its newest mail arrived, then runs as final-incomplete."),
    maxPatches: z
      .number()
      .int()
      .min(1)
      .max(10000)
      .default(100)
      .describe("Series (mail or pull request) with more patches are not run; their result says so."),
    maxSeriesBytes: z
      .number()
      .int()
      .min(1024)
      .default(8 * 1024 * 1024)
      .describe("Series whose patches hold more raw bytes are not run; their result says so."),
  })
  .strict();

const BENCH_RATE_LIMIT_DEFAULT = { perSender: 10, global: 60, windowHours: 24, refusalsPerHour: 20 };

/** Shared by both channels: counted in Redis (TTL keys), so the GitHub App and the mail poller share one budget. */
const benchRateLimitSchema = z
  .object({
    perSender: z.number().int().min(1).default(10).describe("Most /bench requests of one sender (GitHub login or mail address) per window; more are refused."),
    global: z.number().int().min(1).default(60).describe("Most /bench requests of everyone together per window; more are refused."),
    windowHours: z.number().min(1).max(720).default(24).describe("Rate-limit window, hours. Refusal replies are separate: one per sender and PR/thread per day, then silence."),
    refusalsPerHour: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe(
        "Most refusal replies of everyone together per clock hour (many accounts on many PRs each earn their one per day); past it refusals are silent, logged once an hour.",
      ),
  })
  .strict()
  .default(BENCH_RATE_LIMIT_DEFAULT)
  .describe("Abuse limits on /bench.");

/** The GitHub App. Secrets come from env only: see src/bot/github-app-settings.ts. */
export const githubSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "Serve the GitHub App from `patchbench start`. Env: PATCHBENCH_GITHUB_APP_ID, PATCHBENCH_GITHUB_PRIVATE_KEY (or PATCHBENCH_GITHUB_PRIVATE_KEY_PATH), PATCHBENCH_GITHUB_WEBHOOK_SECRET.",
      ),
    host: z.string().default("127.0.0.1").describe("Address the webhook server listens on."),
    port: z.number().int().min(0).max(65535).default(3000).describe("Port of the webhook server (0: any free port)."),
    webhookPath: z.string().regex(/^\/[A-Za-z0-9/_-]*$/).default("/api/github/webhooks").describe("Path GitHub posts webhooks to."),
    baseUrl: z
      .string()
      .default("https://api.github.com")
      .describe("REST API root: https://HOST/api/v3 for GitHub Enterprise Server; a local fake in tests."),
    checkName: z.string().min(1).max(100).default("patchbench").describe("Name of the check run on PR commits."),
    tree: z.string().nullable().default(null).describe("Tree PRs are reviewed against (its stages and bench); default: defaultTree."),
    detailsUrl: z.string().nullable().default(null).describe("Link shown on check runs and comments; {flow} is replaced by the flow id."),
    untrustedAuthors: z
      .enum(["checks-only", "full"])
      .default("checks-only")
      .describe(
        "PRs whose author is not an owner, member or collaborator (webhook author_association) nor on github.bench.allowlist: checks-only runs apply + checks, and build/selftests/bench only after a maintainer's /bench on the PR; full runs every stage.",
      ),
    bench: z
      .object({
        maxCells: z.number().int().min(1).default(20).describe("Most cells (tests x sizes x topologies) a /bench may ask for (GitHub and mail)."),
        minRounds: z.number().int().min(2).default(2).describe("Fewest rounds per variant a /bench may ask for."),
        maxRounds: z.number().int().min(2).default(16).describe("Most rounds per variant a /bench may ask for."),
        maxRunnerMinutes: z.number().int().min(1).default(60).describe("Most estimated runner time of one /bench, minutes."),
        pools: z.array(z.string().regex(POOL_NAME, POOL_NAME_MESSAGE)).default(["local"]).describe("Runner pools a /bench runner=POOL may name."),
        allowlist: z.array(z.string()).default([]).describe("GitHub logins allowed to /bench besides owners, members and collaborators."),
        rateLimit: benchRateLimitSchema,
      })
      .strict()
      .default({ maxCells: 20, minRounds: 2, maxRounds: 16, maxRunnerMinutes: 60, pools: ["local"], allowlist: [], rateLimit: BENCH_RATE_LIMIT_DEFAULT })
      .describe("Limits of /bench (both channels) and who may ask on GitHub."),
  })
  .strict();

/** Per-process limits (prlimit) and budgets of one sandboxed step (src/lib/sandbox.ts). */
/** redis.url / REDIS_URL value that always means the data dir's own redis-server. */
export const PRIVATE_REDIS = "private";

export const sandboxLimitsSchema = z
  .object({
    cpuSec: z.number().int().min(1).default(3600).describe("CPU seconds per process (RLIMIT_CPU); a compiler never needs an hour."),
    memoryMB: z.number().int().min(64).default(4096).describe("Address space per process, MiB (RLIMIT_AS)."),
    maxProcs: z.number().int().min(16).default(1024).describe("Processes of the sandbox user at once (RLIMIT_NPROC): stops fork bombs."),
    maxFileMB: z.number().int().min(1).default(4096).describe("Largest file a process may write, MiB (RLIMIT_FSIZE)."),
    tmpMB: z.number().int().min(1).default(1024).describe("Size of the sandbox's private /tmp (memory-backed tmpfs), MiB."),
    diskMB: z
      .number()
      .int()
      .min(1)
      .default(30720)
      .describe("Most the writable folders (the job's worktree with its build output) may hold after a step, MiB; over it the step fails."),
  })
  .strict();

export const globalSchema = z
  .object({
    dataDir: z.string().default(".patchbench").describe("SQLite store, private Redis, worktrees, outbox, logs."),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    web: webSchema.default(webSchema.parse({})).describe("The dashboard: read-only pages and JSON API."),
    redis: z
      .object({
        url: z
          .string()
          .nullable()
          .default(null)
          .describe(
            "redis:// URL (env REDIS_URL); \"private\": always this data dir's own redis-server. Unset: 127.0.0.1:6379 if it answers (the default prefix then gets a suffix of this data dir's), else a private redis-server.",
          ),
        prefix: z.string().regex(/^[A-Za-z0-9_-]+$/).default("patchbench").describe("BullMQ key prefix."),
        reconcileSec: z
          .number()
          .int()
          .min(1)
          .default(300)
          .describe("How often `patchbench start` gives Redis back the unfinished flows it lost (also once at start), seconds."),
      })
      .strict()
      .default({ url: null, prefix: "patchbench", reconcileSec: 300 }),
    store: z
      .object({
        path: z.string().nullable().default(null).describe("SQLite file; default <dataDir>/patchbench.sqlite."),
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, "a postgres:// or postgresql:// URL")
          .nullable()
          .default(null)
          .describe("PostgreSQL store instead of SQLite (env PATCHBENCH_STORE_URL), e.g. postgres://patchbench@db.example.org/patchbench."),
      })
      .strict()
      .default({ path: null, url: null }),
    runner: z
      .object({
        pool: z.string().regex(POOL_NAME, POOL_NAME_MESSAGE).default("local").describe("Pool the local runner agent joins."),
        workDir: z.string().nullable().default(null).describe("Worktrees and logs; default <dataDir>/work."),
        jobTimeoutSec: z
          .number()
          .int()
          .min(10)
          .default(7200)
          .describe("Hard deadline per runner job (each attempt): past it every process the job started is killed and the stage is an infrastructure error."),
        flowTimeoutSec: z
          .number()
          .int()
          .min(10)
          .default(21600)
          .describe("Hard deadline of a whole flow, from its first stage's start: a stage gets at most what is left (and runner.jobTimeoutSec); a stage that starts past it does not run."),
        artifactsKeepDays: z
          .number()
          .int()
          .min(1)
          .default(14)
          .describe("Per-flow artifact folders (build logs, kernel images, consoles) untouched this long are removed."),
        artifactsMaxMB: z
          .number()
          .int()
          .min(1)
          .default(10240)
          .describe("Then the oldest artifact folders go until the rest fits in this many MB; a job's own folder is never removed."),
        sandbox: z
          .enum(["bwrap", "none"])
          .default("bwrap")
          .describe(
            "How patch-controlled code (a tree's checkpatch.pl, make) runs: bwrap = bubblewrap as runner.sandboxUser with no network and only the job's worktree writable; none = as the runner itself (development only; logged as a warning).",
          ),
        sandboxUser: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]*$/)
          .default("patchbench-sandbox")
          .describe("Unprivileged user the sandbox runs as (scripts/setup-system.sh creates it); missing: uid/gid 65534."),
        sandboxLimits: sandboxLimitsSchema.default(sandboxLimitsSchema.parse({})).describe("Resource limits of every sandboxed step."),
        requireTuned: z
          .boolean()
          .default(false)
          .describe("A bench-grade pool: the runner refuses to start unless `runner doctor` finds the box tuned (governor, SMT, turbo, isolated CPUs, IRQs, quiet, tsc, bare metal)."),
        heartbeatSec: z
          .number()
          .int()
          .min(1)
          .max(300)
          .default(10)
          .describe("How often a runner agent refreshes its entry in Redis (`patchbench runners`); silent for 3 intervals, it is shown as lost."),
        stalledSec: z
          .number()
          .int()
          .min(5)
          .max(3600)
          .default(30)
          .describe(
            "A stage job whose runner has stopped renewing its lock this long (killed, crashed, box gone) goes back to its pool queue and another runner runs the stage again from the start; a job lost twice fails (infrastructure). Also how often each runner looks for such jobs.",
          ),
      })
      .strict()
      .default({
        pool: "local",
        workDir: null,
        jobTimeoutSec: 7200,
        flowTimeoutSec: 21600,
        artifactsKeepDays: 14,
        artifactsMaxMB: 10240,
        sandbox: "bwrap",
        sandboxUser: "patchbench-sandbox",
        sandboxLimits: sandboxLimitsSchema.parse({}),
        requireTuned: false,
        heartbeatSec: 10,
        stalledSec: 30,
      }),
    mail: z
      .object({
        from: z.string().default("patchbench <patchbench@localhost>").describe("From: of report mails."),
        dryRun: z.boolean().default(true).describe("Write .eml files to the outbox instead of sending."),
        quiet: z
          .boolean()
          .default(true)
          .describe(
            "Mail only results that matter (does not apply, failing selftest, significant regression or improvement, claim not reproduced); an explicit /bench is always answered. Others stay in the outbox.",
          ),
        rateLimit: z
          .object({
            perThread: z.number().int().min(1).default(3).describe("Most report mails to one series thread per window."),
            perList: z.number().int().min(1).default(30).describe("Most report mails to one list address per window."),
            windowHours: z.number().min(1).max(720).default(24).describe("Rate-limit window, hours."),
          })
          .strict()
          .default({ perThread: 3, perList: 30, windowHours: 24 })
          .describe("Over a limit, unsolicited mail is held; a /bench answer goes to the one who asked only."),
        outboxDir: z.string().nullable().default(null).describe("Default <dataDir>/outbox."),
        smtp: z
          .object({
            host: z.string().default("127.0.0.1"),
            port: z.number().int().min(1).max(65535).default(25),
            secure: z.boolean().default(false),
            user: z.string().nullable().default(null).describe("Password from env PATCHBENCH_SMTP_PASSWORD."),
          })
          .strict()
          .default({ host: "127.0.0.1", port: 25, secure: false, user: null }),
        bench: z
          .object({
            maintainers: z.array(z.string()).default([]).describe("Mail addresses allowed to ask for benchmarks by mail (/bench in a series thread)."),
            trustedAuthservIds: z
              .array(z.string().regex(/^[A-Za-z0-9._-]+$/, "an authserv-id such as mx.example.org"))
              .default([])
              .describe(
                "authserv-ids (RFC 8601) of your own receiving MTA: only Authentication-Results headers it added are read, and one must say dkim=pass for the From domain. Empty: /bench by mail is off.",
              ),
          })
          .strict()
          .default({ maintainers: [], trustedAuthservIds: [] })
          .describe("Who may ask for /bench by mail (limits: github.bench.*)."),
      })
      .strict()
      .default({
        from: "patchbench <patchbench@localhost>",
        dryRun: true,
        quiet: true,
        rateLimit: { perThread: 3, perList: 30, windowHours: 24 },
        outboxDir: null,
        smtp: { host: "127.0.0.1", port: 25, secure: false, user: null },
        bench: { maintainers: [], trustedAuthservIds: [] },
      }),
    sources: z.array(sourceSchema).default([]).describe("Mail sources polled by `patchbench start`."),
    ingest: ingestSchema.default(ingestSchema.parse({})).describe("How mail and pull requests become series, and how large one may be."),
    trees: z.array(z.string()).default(["bpf-next"]).describe("Tree files to load from <configDir>/trees/<name>.yaml."),
    defaultTree: z.string().default("bpf-next").describe("Tree for series whose subject names none."),
    github: githubSchema.default(githubSchema.parse({})).describe("The GitHub App: PR check runs and /bench comments."),
    patchwork: patchworkSchema.default(patchworkSchema.parse({})).describe("Patchwork: checks on the patches of each reported series."),
  })
  .strict();

export type GlobalConfig = z.infer<typeof globalSchema>;
export type TreeConfig = z.infer<typeof treeSchema>;
export type BenchConfig = z.infer<typeof benchSchema>;
export type ArmConfig = z.infer<typeof armSchema>;
export type BuildConfig = z.infer<typeof buildSchema>;
export type BootConfig = z.infer<typeof bootSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type GithubConfig = z.infer<typeof githubSchema>;

/** The whole, resolved configuration. Secrets live in `secrets`, never in files. */
export interface Config {
  configDir: string | null;
  global: GlobalConfig;
  trees: TreeConfig[];
  secrets: { smtpPassword: string | null };
  /** Resolved absolute paths. */
  /** storePath: the SQLite file (hidden from sandboxes even when unused); store: what openStore opens (store.url, else storePath). */
  paths: { dataDir: string; storePath: string; store: string; workDir: string; outboxDir: string };
}
