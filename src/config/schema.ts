import { z } from "zod";
import { BENCH_TESTS, SOCKOPTS, TOPOLOGIES } from "../domain/bench.ts";

/**
 * The configuration schema. Every option documents itself with `describe`;
 * README's configuration table and `patchbench config check` are built on it.
 * Secrets never come from files: only from the environment (see load-config).
 */

const sysctlKey = z
  .string()
  .regex(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/, "a sysctl key such as net.core.busy_read");

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
  }),
  z.object({
    kind: z.literal("tc-bpf").describe("Attach a tc-BPF program (direct-action) to the egress of a namespace topology's veth."),
    object: z.string().min(1),
    section: z.string().regex(/^[A-Za-z0-9_./-]{1,64}$/).default("tc"),
    side: z.enum(["client", "server"]).default("client"),
  }),
]);

export const variantSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.=+-]{1,40}$/, "1-40 characters of A-Z a-z 0-9 _ . = + -"),
  settings: z.array(variantSettingSchema).default([]),
});

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
      .describe("Exactly two variants: A (baseline) then B (candidate)."),
    rounds: z.number().int().min(2).max(64).default(6).describe("Rounds per variant before any extension."),
    maxRounds: z.number().int().min(2).max(128).default(16).describe("Cap for adaptive extension."),
    runsPerRound: z.number().int().min(1).max(20).default(3).describe("Measured netperf runs per cell and round."),
    durationSec: z.number().int().min(1).max(300).default(10).describe("netperf -l per run, seconds."),
    warmup: z.boolean().default(true).describe("One discarded warm-up run per cell and round."),
    design: z.enum(["ABBA", "ABAB"]).default("ABBA").describe("Interleaving of variants across rounds."),
    pinning: z
      .object({ local: z.number().int().min(0), remote: z.number().int().min(0) })
      .nullable()
      .default({ local: 0, remote: 1 })
      .describe("netperf -T local,remote CPU pinning; null disables."),
    budgetSec: z.number().int().min(10).default(3600).describe("Refuse plans estimated to take longer."),
    seed: z.number().int().default(1).describe("Seed for cell order shuffling."),
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
    pool: z.string().default("local").describe("Runner pool that runs this tree's jobs."),
    stages: z
      .array(z.enum(["apply", "selftests", "bench"]))
      .default(["apply", "selftests", "bench"])
      .describe("Runner stages, in order."),
    suites: z.array(z.string()).default(["host-probes"]).describe("Suites run by the selftests stage."),
    bench: benchSchema.default(benchSchema.parse({})),
    recipients: z
      .object({
        to: z.array(z.string()).default(["author"]).describe('"author", "list" or addresses.'),
        cc: z.array(z.string()).default(["list"]),
      })
      .default({ to: ["author"], cc: ["list"] }),
    allowBinary: z.boolean().default(false).describe("Accept binary patches."),
    allowSymlinks: z.boolean().default(false).describe("Accept patches that create symlinks."),
  })
  .strict();

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
]);

export const globalSchema = z
  .object({
    dataDir: z.string().default(".patchbench").describe("SQLite store, private Redis, worktrees, outbox, logs."),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    redis: z
      .object({
        url: z
          .string()
          .nullable()
          .default(null)
          .describe("redis:// URL (env REDIS_URL). Unset: 127.0.0.1:6379 if it answers, else a private redis-server."),
        prefix: z.string().regex(/^[A-Za-z0-9_-]+$/).default("patchbench").describe("BullMQ key prefix."),
      })
      .strict()
      .default({ url: null, prefix: "patchbench" }),
    store: z
      .object({
        path: z.string().nullable().default(null).describe("SQLite file; default <dataDir>/patchbench.sqlite."),
      })
      .strict()
      .default({ path: null }),
    runner: z
      .object({
        pool: z.string().default("local").describe("Pool the local runner agent joins."),
        workDir: z.string().nullable().default(null).describe("Worktrees and logs; default <dataDir>/work."),
        jobTimeoutSec: z.number().int().min(10).default(7200).describe("Hard deadline per runner job."),
      })
      .strict()
      .default({ pool: "local", workDir: null, jobTimeoutSec: 7200 }),
    mail: z
      .object({
        from: z.string().default("patchbench <patchbench@localhost>").describe("From: of report mails."),
        dryRun: z.boolean().default(true).describe("Write .eml files to the outbox instead of sending."),
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
      })
      .strict()
      .default({
        from: "patchbench <patchbench@localhost>",
        dryRun: true,
        outboxDir: null,
        smtp: { host: "127.0.0.1", port: 25, secure: false, user: null },
      }),
    sources: z.array(sourceSchema).default([]).describe("Mail sources polled by `patchbench start`."),
    trees: z.array(z.string()).default(["bpf-next"]).describe("Tree files to load from <configDir>/trees/<name>.yaml."),
    defaultTree: z.string().default("bpf-next").describe("Tree for series whose subject names none."),
  })
  .strict();

export type GlobalConfig = z.infer<typeof globalSchema>;
export type TreeConfig = z.infer<typeof treeSchema>;
export type BenchConfig = z.infer<typeof benchSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;

/** The whole, resolved configuration. Secrets live in `secrets`, never in files. */
export interface Config {
  configDir: string | null;
  global: GlobalConfig;
  trees: TreeConfig[];
  secrets: { smtpPassword: string | null };
  /** Resolved absolute paths. */
  paths: { dataDir: string; storePath: string; workDir: string; outboxDir: string };
}
