import assert from "node:assert/strict";
import { test } from "node:test";
import { newWarnings, parseBuildWarnings } from "./parse-build-warnings.ts";
import { compareProbes } from "./compare-probes.ts";

// Real gcc 12 output of linux-source-6.1 with delack-3 applied alone (fixtures/mail/apply-6.1/README.md, curly quotes as gcc prints them).
const REAL = `net/ipv4/tcp_output.c: In function \u2018tcp_delack_max\u2019:
net/ipv4/tcp_output.c:3971:52: warning: passing argument 1 of \u2018__sk_dst_get\u2019 discards \u2018const\u2019 qualifier from pointer target type [-Wdiscarded-qualifiers]
 3971 |         const struct dst_entry *dst = __sk_dst_get(sk);
./include/net/sock.h:2262:27: note: expected \u2018struct sock *\u2019 but argument is of type \u2018const struct sock *\u2019
`;

test("gcc warnings are parsed with file, line, message and flag; notes are not warnings", () => {
  assert.deepEqual(parseBuildWarnings(REAL), [
    {
      file: "net/ipv4/tcp_output.c",
      line: 3971,
      message: "passing argument 1 of '__sk_dst_get' discards 'const' qualifier from pointer target type",
      flag: "-Wdiscarded-qualifiers",
    },
  ]);
});

test("new warnings ignore moved lines but count repeats", () => {
  const w = (line: number, message = "unused variable 'x'") => ({ file: "a.c", line, message, flag: "-Wunused-variable" });
  assert.deepEqual(newWarnings([w(10)], [w(12)]), []);
  assert.deepEqual(newWarnings([w(10)], [w(12), w(40)]), [w(40)]);
  assert.deepEqual(newWarnings([], [w(1, "other")]), [w(1, "other")]);
});

test("probe changes: unsupported on base, supported on candidate is named", () => {
  const run = (kernel: "base" | "candidate", status: "pass" | "fail" | "skip") => ({
    target: "qemu" as const,
    kernel,
    outcome: "ok" as const,
    reason: "",
    durationMs: 1,
    consoleTail: "",
    probes: [
      { suite: "g", name: "bpf-busy-poll", status, detail: "", durationMs: 1 },
      { suite: "g", name: "tcp", status: "pass" as const, detail: "", durationMs: 1 },
    ],
  });
  assert.deepEqual(compareProbes(run("base", "skip"), run("candidate", "pass")), [
    { name: "bpf-busy-poll", base: "skip", candidate: "pass", note: "unsupported on base, supported on candidate" },
  ]);
  assert.equal(compareProbes(run("base", "pass"), run("candidate", "fail"))[0]?.note, "works on base, broken on candidate");
  assert.deepEqual(compareProbes(run("base", "pass"), undefined), []);
});
