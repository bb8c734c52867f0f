import { Command, CommanderError, Option } from "commander";
import { describeError, errorCode } from "../lib/errors.ts";
import type { GlobalFlags } from "./context.ts";
import { armInterrupts, outputClosed, wasInterrupted } from "./interrupt.ts";
import { usageErrorLine } from "./usage-error.ts";

// Before anything slow: a signal while a command is still being imported ends
// as documented (130), not in Node's silent default death.
armInterrupts();

// Commands are imported when they run: `--help` and a mistyped flag must not
// pay for bullmq, probot, kysely or postal-mime (scripts/build.mjs splits
// each dynamic import into its own chunk).

const program = new Command();
program
  .name("patchbench")
  .description("Kernel patch review and performance regression bot: apply, test and A/B-benchmark posted series, report on the list.")
  .version("0.1.0")
  .option("-c, --config <dir>", "config folder with patchbench.yaml and trees/ (env PATCHBENCH_CONFIG; default: the shipped config/)")
  .option("--data-dir <dir>", "data folder: store, private Redis, worktrees, outbox (env PATCHBENCH_DATA_DIR)")
  .option("--redis-url <url>", "Redis URL, or private for the data dir's own redis-server (env REDIS_URL; default 127.0.0.1:6379 if it answers, else a private one)")
  .option("--log-level <level>", "trace|debug|info|warn|error|silent (env PATCHBENCH_LOG_LEVEL)")
  .addOption(new Option("--log-format <format>", "pretty (default on a terminal) or json (default otherwise) (env PATCHBENCH_LOG_FORMAT)").choices(["pretty", "json"]))
  // Usage errors are written by us, one line each (see the end of this file).
  .configureOutput({ outputError: () => {} })
  .hook("preAction", () => {
    // The logger reads the environment (src/lib/logger.ts): one place decides the format.
    const f = program.opts<{ logFormat?: string }>().logFormat;
    if (f) process.env.PATCHBENCH_LOG_FORMAT = f;
  });

const globals = (): GlobalFlags => program.opts<GlobalFlags>();

/** Run a command; errors become one clear line and a non-zero exit. */
function run(fn: () => Promise<number> | number): () => Promise<void> {
  return async () => {
    try {
      process.exitCode = await fn();
    } catch (e) {
      const code = errorCode(e);
      if (!outputClosed()) process.stderr.write(`patchbench: ${describeError(e)}\n`);
      // sysexits(3): EX_CONFIG, EX_DATAERR, EX_UNAVAILABLE (a service or tool patchbench needs is not there).
      process.exitCode = code === "config" ? 78 : code === "input" ? 65 : code === "infra" ? 69 : 1;
    }
    // Interrupted and cleaned up: end now, not when the last socket lets go.
    if (wasInterrupted()) process.exit();
  };
}

program
  .command("start")
  .description("run the service: mail pollers, orchestrator and a local runner agent (stops cleanly on SIGINT/SIGTERM)")
  .option("--no-runner", "do not start the local runner agent")
  .action((opts: { runner?: boolean }) => run(async () => (await import("./commands/start-command.ts")).startCommand({ ...globals(), ...opts }))());

program
  .command("web")
  .description("serve the dashboard alone (read-only pages and JSON API) against the configured store")
  .option("--host <addr>", "listen address (default: web.host)")
  .option("--port <n>", "listen port, 0 for any free one (default: web.port)")
  .action((opts: { host?: string; port?: string }) => run(async () => (await import("./commands/web-command.ts")).webCommand({ ...globals(), ...opts }))());

const runner = program
  .command("runner")
  .description("run a runner agent that takes jobs of one pool from a shared Redis (`runner doctor`: check this box first)")
  .option("--pool <name>", "runner pool to join (default: runner.pool from the config)")
  .action((opts: { pool?: string }) => run(async () => (await import("./commands/runner-command.ts")).runnerCommand({ ...globals(), ...opts }))());
runner
  .command("doctor")
  .description("check this box before it is trusted with benchmarks: packages, tuning, load, disk; what to fix and how")
  .option("--json", "machine-readable checks")
  .action((opts: { json?: boolean }) => run(async () => (await import("./commands/runner-doctor-command.ts")).runnerDoctorCommand(globals(), opts))());

program
  .command("runners")
  .description("list the runner agents on this Redis: pool, state (idle, busy, lost, stopped), job, machine profile")
  .option("--json", "machine-readable list")
  .action((opts: { json?: boolean }) => run(async () => (await import("./commands/runners-command.ts")).runnersCommand(globals(), opts))());

const benchOptions = (c: Command) =>
  c
    .option("--quick", "small matrix: 2 sizes x loopback+container, 4 rounds per variant, 1 s runs")
    .option("--rounds <n>", "rounds per variant")
    .option("--runs <n>", "measured runs per cell and round")
    .option("--duration <s>", "seconds per netperf run")
    .option("--sizes <list>", "request/response sizes in bytes, e.g. 1,64,1024")
    .option("--topologies <list>", "loopback,container,container-bridge")
    .option("--tests <list>", "TCP_RR,TCP_CRR,TCP_STREAM,UDP_RR");

benchOptions(
  program
    .command("review")
    .description("one shot: ingest a series, run its flow through the queue, print the report")
    .argument("<input...>", "mbox files, maildirs, .eml or .patch files, folders of mails (read together), or one Message-ID already stored")
    .option("--json", "print the report outcome as JSON")
    .option("--tree <name>", "review against this configured tree")
    .option("--tree-path <dir>", "use this local git repository as the tree")
    .option("--stages <list>", "apply,selftests,bench (default: the tree's stages)")
    .option("--no-local-runner", "only enqueue; let runner agents on the shared Redis do the work")
    .option("--timeout <s>", "give up waiting after this many seconds")
    .option("--rerun", "run the series again as a fresh flow (flow id suffix -rerun-<time>) instead of reprinting the report of an earlier run"),
).action((inputs: string[], opts: Record<string, unknown>) => run(async () => (await import("./commands/review-command.ts")).reviewCommand(inputs, { ...globals(), ...opts }))());

benchOptions(
  program
    .command("bench")
    .description("A/B netperf matrix on this machine's kernel, run directly (no queue): per-cell estimate, 95% CI, MDE, verdict")
    .option("--variant <spec>", "variant A then B: [name:]busy_read=50 | net.x.y=N | nodelay | local-buffer=N | remote-buffer=N | bpf-cgroup=/abs/obj.o[:prog] | tc-bpf=/abs/obj.o[:sec][@server] | none (comma-separated)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--matrix <name>", "default (TCP_RR 1 B..64 KB x loopback, container) or small")
    .option("--tree <name>", "take the bench defaults of this configured tree")
    .option("--adaptive", "extend by 2 rounds/side while a cell is undecided, up to --max-rounds")
    .option("--max-rounds <n>", "cap for --adaptive")
    .option("--design <d>", "ABBA or ABAB")
    .option("--pairing <p>", "cell (A and B back to back per cell, default) or side")
    .option("--warmup <w>", "first (default), all or none: discarded warm-up run per cell")
    .option("--settle-ms <ms>", "pause after switching variants")
    .option("--repair <n>", "with --pairing cell: measure a pair again when a run is in the slow mode or failed a gate, up to n times (default 2; 0 disables)")
    .option("--seed <n>", "cell order seed")
    .option("--budget <s>", "refuse plans estimated to take longer")
    .option("--no-pin", "do not pin netperf with -T")
    .option("--claims <file>", "check the performance claims in this text (cover letter) against the measured cells")
    .option("--json", "machine-readable result with every sample"),
).action((opts: Record<string, unknown>) => run(async () => (await import("./commands/bench-command.ts")).benchCommand({ ...globals(), ...opts }))());

program
  .command("series")
  .description("print the series assembled from a mailbox, without running anything")
  .argument("<input...>", "mbox files, maildirs, .eml or .patch files, folders of mails (read together)")
  .option("--json", "machine-readable output (the documented contract)")
  .action((inputs: string[], opts: { json?: boolean }) => run(async () => (await import("./commands/series-command.ts")).seriesCommand(inputs, globals(), opts))());

program
  .command("bundle")
  .description("write a flow's reproduction bundle: series mbox, base and head, kernel .configs, commands, machine profile, raw results")
  .argument("<flow-id>", "the flow (each report's last line names it: \"report flow-…\")")
  .option("--out <dir>", "new folder to write (default: ./bundle-<flow-id>)")
  .action((flowId: string, opts: { out?: string }) => run(async () => (await import("./commands/bundle-command.ts")).bundleCommand(flowId, globals(), opts))());

program
  .command("history")
  .description("a tree's measured tips: per machine and cell, each tip against the one before, and the change points that hold")
  .argument("<tree>", "a configured tree")
  .option("--cell <key>", "only this cell, e.g. TCP_RR/loopback/1")
  .option("--json", "machine-readable history")
  .action((tree: string, opts: { cell?: string; json?: boolean }) => run(async () => (await import("./commands/history-command.ts")).historyCommand(tree, globals(), opts))());

const config = program.command("config").description("configuration tools");
config
  .command("check")
  .description("validate the configuration: print it normalized, or every error with file, path and expectation")
  .option("--json", "print the normalized config as JSON")
  .action((opts: { json?: boolean }) => run(async () => (await import("./commands/config-check-command.ts")).configCheckCommand(globals(), opts))());

program
  .command("b4-check")
  .description("b4 external check: read a mail on stdin, print this series' latest results as b4 check JSON")
  .option("--url <template>", "link for the check; {flow} is replaced by the report id (default: the run's dashboard page when web.publicUrl is set)")
  .action((opts: { url?: string }) => run(async () => (await import("./commands/b4-check-command.ts")).b4CheckCommand(globals(), opts))());

const quarantine = program.command("quarantine").description("mail that could not be used, with the reason");
quarantine
  .command("list")
  .description("list quarantined messages")
  .addOption(new Option("--json", "machine-readable output"))
  .action((opts: { json?: boolean }) => run(async () => (await import("./commands/quarantine-command.ts")).quarantineListCommand(globals(), opts))());

const store = program.command("store").description("the store: SQLite (default) or PostgreSQL (store.url)");
store
  .command("migrate")
  .description("bring the configured store's schema up to date")
  .action(() => run(async () => (await import("./commands/store-command.ts")).storeMigrateCommand(globals()))());
store
  .command("copy")
  .description("copy every row of one store into another (e.g. SQLite to PostgreSQL); safe to run again")
  .requiredOption("--from <store>", "a SQLite file or a postgres:// URL")
  .requiredOption("--to <store>", "a SQLite file or a postgres:// URL (migrated first)")
  .action((opts: { from: string; to: string }) => run(async () => (await import("./commands/store-command.ts")).storeCopyCommand(opts))());

// A usage error (unknown option, missing argument, ...) is bad input: one line
// naming the command's own help, exit 65. Help and --version end as usual.
let usage: { cmd: Command; err: CommanderError } | null = null;
const each = (c: Command): Command[] => [c, ...c.commands.flatMap(each)];
for (const cmd of each(program)) {
  cmd.exitOverride((err) => {
    if (err.exitCode !== 0 && err.code !== "commander.help") {
      usage = { cmd, err };
      process.exitCode = 65;
    } else process.exitCode = err.exitCode;
    throw err;
  });
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (!(e instanceof CommanderError)) throw e;
  const u = usage as { cmd: Command; err: CommanderError } | null;
  if (u) {
    const what = u.err.message.replace(/^error: /, "");
    const line = u.err.code === "commander.unknownOption" ? await (await import("./flag-problems.ts")).unknownOptionWithValueProblems(u.cmd, what) : what;
    process.stderr.write(`${usageErrorLine(u.cmd, line)}\n`);
  }
}
