import type { Series } from "../../domain/series.ts";
import { classifyTestProgsRun, type SuiteOutcome, type TestProgsRun } from "./test-progs/classify-run.ts";
import { parseTestProgsOutput, type TestProgsOutput } from "./test-progs/parse-output.ts";

/** What a suite is asked to decide on: the tree, and the series (null for a baseline run). */
export interface SuiteTarget {
  tree: string | null;
  series: Pick<Series, "title" | "patches"> & { text?: string | undefined } | null;
}

export interface SuiteCommandOptions {
  /** Path of the test_progs binary (in the built selftests tree). */
  testProgs: string;
  /** Also write the -J JSON summary to this path. */
  jsonOutput?: string;
}

/**
 * The plug-in shape every selftest suite has: what it is, when it applies,
 * the argv to run (an array, never a shell string: lib/exec runs it), a pure
 * parser for its output and the one mapping of a finished run to a Status.
 */
export interface Suite<Parsed, Run> {
  id: string;
  describe: string;
  appliesTo(target: SuiteTarget): boolean;
  /** Why it does not apply, in the report's words (asked only when `appliesTo` is false). */
  skipReason(target: SuiteTarget): string;
  command(opts: SuiteCommandOptions): string[];
  parse(output: string): Parsed;
  classify(run: Run): SuiteOutcome;
}

export type TestProgsSuite = Suite<TestProgsOutput, TestProgsRun> & {
  /** What `test_progs -t` is given: test or test/subtest (also the filter run inside built kernels). */
  filter: string;
};

const BPF_NET_TREES = new Set(["bpf", "bpf-next", "net", "net-next"]);

/** A suite for bpf/net trees that runs when the series mentions its area (`words` name the pattern in the report). */
function seriesMentions(pattern: RegExp, words: string): Pick<TestProgsSuite, "appliesTo" | "skipReason"> {
  const otherTree = (target: SuiteTarget) => target.tree !== null && !BPF_NET_TREES.has(target.tree);
  return {
    appliesTo: (target) => {
      if (otherTree(target)) return false;
      const s = target.series;
      if (s === null) return true;
      return [s.title, s.text ?? "", ...s.patches.map((p) => p.subject)].some((t) => pattern.test(t));
    },
    skipReason: (target) =>
      otherTree(target)
        ? `tree ${target.tree} is not one of ${[...BPF_NET_TREES].join(", ")}`
        : `the series' title${target.series?.text ? ", cover letter" : ""} and patch subjects mention none of ${words}`,
  };
}

function testProgsArgv(opts: SuiteCommandOptions, filter: string): string[] {
  const argv = [opts.testProgs, "-t", filter];
  if (opts.jsonOutput !== undefined) argv.push("-J", opts.jsonOutput);
  return argv;
}

/** The tcp_splice selftest added by the splice series (absent on base → skip "test not present"). */
export const tcpSpliceSuite: TestProgsSuite = {
  id: "tcp_splice",
  describe: "BPF selftest tcp_splice (test_progs -t tcp_splice): paired-socket splice round trip",
  ...seriesMentions(/splice|tcp_bpf|sockmap|sock_?ops/i, "splice, tcp_bpf, sockmap, sock_ops"),
  filter: "tcp_splice",
  command: (opts) => testProgsArgv(opts, "tcp_splice"),
  parse: (output) => parseTestProgsOutput(output),
  classify: (run) => classifyTestProgsRun(run, { test: "tcp_splice" }),
};

/**
 * SO_BUSY_POLL set with bpf_setsockopt() from the tcp_splice sock_ops program
 * (seed series patch 5/5, "selftests/bpf: set SO_BUSY_POLL from the tcp_splice
 * sockops prog"). Filter: `-t tcp_splice/busy_poll`, i.e. tcp_splice subtests
 * whose name contains "busy_poll". We have not seen patch 5/5, so the subtest
 * name is a guess to check against it; if no such subtest runs, test_progs
 * prints the tcp_splice line without subtests and the run is reported as
 * skip "test not present" rather than as coverage we cannot see. (A test with
 * no subtests at all looks the same; then use the tcp_splice suite.)
 */
export const soBusyPollSuite: TestProgsSuite = {
  id: "so_busy_poll",
  describe: "SO_BUSY_POLL via bpf_setsockopt from sock_ops (test_progs -t tcp_splice/busy_poll)",
  ...seriesMentions(/busy[-_ ]?poll|bpf_setsockopt/i, "busy_poll, bpf_setsockopt"),
  filter: "tcp_splice/busy_poll",
  command: (opts) => testProgsArgv(opts, "tcp_splice/busy_poll"),
  parse: (output) => parseTestProgsOutput(output),
  classify: (run) => classifyTestProgsRun(run, { test: "tcp_splice", subtest: "busy_poll" }),
};

/** Every suite by id. */
export const SUITES: ReadonlyMap<string, TestProgsSuite> = new Map([
  [tcpSpliceSuite.id, tcpSpliceSuite],
  [soBusyPollSuite.id, soBusyPollSuite],
]);
