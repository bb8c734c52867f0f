import { parseRawDiffZ } from "../../domain/raw-diff.ts";
import type { TestProgsSelection } from "../../domain/results.ts";

/** Where the BPF selftests live in a kernel tree. */
export const BPF_SELFTESTS_DIR = "tools/testing/selftests/bpf";
const PROG_TESTS = `${BPF_SELFTESTS_DIR}/prog_tests/`;
const PROGS = `${BPF_SELFTESTS_DIR}/progs/`;


/** Pure: "tcp_splice/busy_poll" → its parts. */
export function selectionOf(filter: string, from: TestProgsSelection["from"]): TestProgsSelection {
  const [test, subtest] = filter.split("/", 2) as [string, string | undefined];
  return subtest === undefined ? { filter, test, from } : { filter, test, subtest, from };
}

const TEST_FN = /^void (?:serial_)?test_([a-zA-Z0-9_]+)\((?:void)?\)/gm;

/** Pure: the tests a prog_tests file defines, found the way the selftests Makefile makes tests.h. */
export function testsDefinedIn(source: string): string[] {
  return [...source.matchAll(TEST_FN)].map((m) => m[1]!);
}

/**
 * Pure: the prog_tests files a series adds or changes, from `git diff --raw -z --no-renames base
 * head -- tools/testing/selftests/bpf/prog_tests` (repository paths, diff order).
 */
export function seriesProgTests(rawZ: string): string[] {
  return parseRawDiffZ(rawZ)
    .filter((e) => (e.status === "A" || e.status === "M") && e.path.startsWith(PROG_TESTS) && e.path.endsWith(".c") && !e.path.slice(PROG_TESTS.length).includes("/"))
    .map((e) => e.path);
}

/** Pure: the configured filters, then the suites', then the series' own tests (at most `max` of those), each once. */
export function testProgsSelections(configured: readonly string[], suites: readonly string[], fromSeries: readonly string[], max: number): { run: TestProgsSelection[]; notRun: string[] } {
  const seen = new Set<string>();
  const run: TestProgsSelection[] = [];
  const add = (f: string, from: TestProgsSelection["from"]) => {
    if (seen.has(f)) return;
    seen.add(f);
    run.push(selectionOf(f, from));
  };
  for (const f of configured) add(f, "config");
  for (const f of suites) add(f, "suite");
  const extra = fromSeries.filter((t) => !seen.has(t));
  for (const t of extra.slice(0, max)) add(t, "series");
  return { run, notRun: extra.slice(max) };
}

/** What one side's slim test_progs build keeps. */
export interface SlimTestProgsPlan {
  /** The prog_tests and progs sources left out of the build (repository paths). */
  exclude: string[];
  /** Wanted tests this tree defines. */
  present: string[];
  /** make variables naming only the skeletons the kept tests include. */
  makeVars: { LSKELS: string; LSKELS_EXTRA: string; LINKED_SKELS: string; TRUNNER_EXTRA_FILES: string };
}

const SKEL_REF = /"([A-Za-z0-9_]+)\.(skel|lskel|subskel)\.h"/g;
const OBJ_REF = /"(?:\.\/)?([A-Za-z0-9_]+)\.(?:bpf\.)?o"/g;
const LINKED_DEPS = /^([A-Za-z0-9_]+\.skel\.h)-deps\s*:=\s*(.*)$/gm;

/**
 * Pure: a test_progs that holds only the wanted tests. The selftests Makefile builds every
 * prog_tests/*.c and every progs/*.c it finds (hundreds of clang runs, half an hour on two CPUs);
 * leaving the others out of the source tree, and naming only the light and linked skeletons the
 * kept tests include, makes the same Makefile build the same binary for just those tests.
 * `progTests` holds the prog_tests files that define a wanted test, with their text.
 */
export function planSlimTestProgs(input: {
  wanted: readonly string[];
  progTests: ReadonlyMap<string, string>;
  /** Every .c file under prog_tests/ and progs/ at this commit. */
  sources: readonly string[];
  makefile: string;
}): SlimTestProgsPlan {
  const wanted = new Set(input.wanted);
  const keptTests = new Set<string>();
  const present = new Set<string>();
  for (const [path, text] of input.progTests) {
    const defined = testsDefinedIn(text).filter((t) => wanted.has(t));
    if (defined.length === 0) continue;
    keptTests.add(path);
    for (const t of defined) present.add(t);
  }
  const linkedDeps = new Map([...input.makefile.matchAll(LINKED_DEPS)].map((m) => [m[1]!, m[2]!.trim().split(/\s+/)] as const));
  // btf_data.bpf.o: resolve_btfids reads it when it links test_progs.
  const progs = new Set<string>(["btf_data"]);
  const lskels = new Set<string>();
  const linked = new Set<string>();
  for (const path of keptTests) {
    const text = input.progTests.get(path)!;
    for (const m of text.matchAll(SKEL_REF)) {
      const [name, kind] = [m[1]!, m[2]!];
      const skel = `${name}.skel.h`;
      if (kind !== "lskel" && linkedDeps.has(skel)) {
        linked.add(skel);
        for (const dep of linkedDeps.get(skel)!) progs.add(dep.replace(/\.bpf\.o$/, ""));
      } else {
        progs.add(name);
        if (kind === "lskel") lskels.add(`${name}.c`);
      }
    }
    for (const m of text.matchAll(OBJ_REF)) progs.add(m[1]!);
  }
  const keep = (path: string) =>
    path.startsWith(PROG_TESTS) ? keptTests.has(path) : path.startsWith(PROGS) ? progs.has(path.slice(PROGS.length, -2)) : true;
  return {
    exclude: input.sources.filter((p) => p.endsWith(".c") && !keep(p)),
    present: [...present],
    makeVars: { LSKELS: [...lskels].join(" "), LSKELS_EXTRA: "", LINKED_SKELS: [...linked].join(" "), TRUNNER_EXTRA_FILES: "" },
  };
}
