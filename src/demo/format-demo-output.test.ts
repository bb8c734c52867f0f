import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { PROJECT_ROOT } from "../../test/helpers/fixtures.ts";
import { formatDemoOutput } from "./format-demo-output.ts";

test("the demo prints the report body once: its verdict lines are not repeated as a second table", () => {
  const body = readFileSync(join(PROJECT_ROOT, "test", "golden", "mail-netperf-delay.txt"), "utf8");
  const eml = `From: patchbench <patchbench@localhost>\nSubject: Re: [PATCH net-next 0/3] tcp: add tcp_delack_max()\n\n${body}`;
  const out = formatDemoOutput(eml, "/data/outbox/x.eml");
  assert.equal(out.split("\n").filter((l) => /^ {2}TCP_RR \(/.test(l)).length, 1);
  assert.equal(out.split("\n").filter((l) => /^ {6}regression:/.test(l)).length, 1);
  assert.doesNotMatch(out, /Verdict table/);
  assert.doesNotMatch(out, /^Subject:/m, "headers are not printed");
  assert.match(out, /Report \(the mail patchbench would send, dry run\): \/data\/outbox\/x\.eml\n$/);
});
