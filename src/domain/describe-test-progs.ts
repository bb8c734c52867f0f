import type { TestProgsBuilds } from "./results.ts";

/** Pure: the build stage's line on test_progs, e.g. "test_progs with the flow's 2 test(s): 2 for candidate (19 s); 1 for base (18 s); vmlinux.h from …". */
export function describeTestProgsBuilds(t: TestProgsBuilds): string {
  const tests = new Set(t.selections.map((s) => s.test)).size;
  const side = (b: TestProgsBuilds["base"], label: string) =>
    !b
      ? `not built for ${label}`
      : b.problem
        ? `${label}: ${b.problem}`
        : !b.dir
          ? `none of them in ${label}'s tree`
          : b.reused
            ? `${b.present.length} for ${label} (kept from flow ${b.reused.flowId}, no build)`
            : `${b.present.length} for ${label} (${Math.round(b.seconds)} s)`;
  return `test_progs with the flow's ${tests} test(s): ${side(t.candidate, "candidate")}; ${side(t.base, "base")}; vmlinux.h from ${t.btfFrom}`;
}
