import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCheckpatchOutput } from "./parse-output.ts";

// Real checkpatch.pl output of linux-source-6.1 on autotune-1.eml (fixtures/mail/apply-6.1/README.md), with --show-types.
const AUTOTUNE_1 = `WARNING:COMMIT_LOG_LONG_LINE: Possible unwrapped commit description (prefer a maximum 75 chars per line)
#92:
tcp_stream 40597 [068]  2172.978198: tcp:tcp_rcvbuf_grow: time=50307 rtt_us=50179 copied=77824

WARNING:SPLIT_STRING: quoted string split across lines
#131: FILE: include/trace/events/tcp.h:273:
 \tTP_printk("time=%u rtt_us=%u copied=%u inq=%u space=%u ooo=%u scaling_ratio=%u rcvbuf=%u "
+\t\t  "rcv_ssthresh=%u window_clamp=%u rcv_wnd=%u "

total: 0 errors, 2 warnings, 32 lines checked

NOTE: For some of the reported defects, checkpatch may be able to
      mechanically convert to the typical style using --fix or --fix-inplace.
`;

test("findings carry severity, type, file and line; commit-log findings have no file", () => {
  const r = parseCheckpatchOutput(AUTOTUNE_1);
  assert.deepEqual(r.totals, { errors: 0, warnings: 2, checks: 0, lines: 32 });
  assert.deepEqual(r.findings, [
    { severity: "warning", code: "COMMIT_LOG_LONG_LINE", file: null, line: null, message: "Possible unwrapped commit description (prefer a maximum 75 chars per line)" },
    { severity: "warning", code: "SPLIT_STRING", file: "include/trace/events/tcp.h", line: 273, message: "quoted string split across lines" },
  ]);
});

test("errors and the cover letter's no-diff error; output without totals has none", () => {
  const r = parseCheckpatchOutput("ERROR: Does not appear to be a unified-diff format patch\n\ntotal: 1 errors, 0 warnings, 0 lines checked\n");
  assert.equal(r.findings[0]?.severity, "error");
  assert.equal(r.findings[0]?.code, null);
  assert.equal(r.totals?.errors, 1);
  assert.equal(parseCheckpatchOutput("Can't open perl script").totals, null);
});
