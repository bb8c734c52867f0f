import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { FIXTURES } from "../../test/helpers/fixtures.ts";
import { checkGolden, fixtureReports } from "../../test/integration/mail-fixture-results.ts";
import { assembleMailbox } from "../ingest/mail/assemble-mailbox.ts";
import { readMailbox } from "../ingest/mail/read-mailbox.ts";
import { buildReport } from "./build-report.ts";
import { MAX_COLUMNS, renderText, wrapCommand } from "./render-text.ts";

function assertMailText(text: string): void {
  for (const line of text.split("\n")) {
    // A URL is never cut: a labelled line holding only a URL may run longer (RFC 5322 allows 998).
    assert.ok(line.length <= MAX_COLUMNS || /^[A-Za-z]+: +[a-z]+:\/\/\S+$/.test(line), `line over ${MAX_COLUMNS} columns: ${line}`);
    assert.match(line, /^[\x20-\x7e]*$/, `non-ASCII or control character: ${JSON.stringify(line)}`);
    assert.equal(line, line.trimEnd(), "trailing blanks");
  }
}

/** What sh makes of the lines: backslash-newline removed, then split into words. */
function shWords(lines: string[]): string[] {
  return lines.join("\n").replace(/\\\n/g, "").split(/\s+/).filter(Boolean);
}

describe("renderText golden files (real fixture results)", async () => {
  const reports = await fixtureReports();

  test("netperf 20 us delay: A/B figures from the real runs, threaded to the delack cover", () => {
    const text = renderText(reports.regression);
    assertMailText(text);
    checkGolden("mail-netperf-delay.txt", text);
    // The golden is not free text: its figures are the fixture runs' geometric means.
    const a = reports.regression.bench!.cells[0]!.a.mean;
    assert.ok(a > 20_000 && a < 40_000, `baseline mean ${a}`);
    assert.match(text, /^ {2}TCP_RR \(container\) 1 B 28\.8k -> 16\.7k tps \(0\.579x\)/m);
  });

  test("does not apply: git's own words and the failing file", () => {
    const text = renderText(reports.doesNotApply);
    assertMailText(text);
    checkGolden("mail-does-not-apply.txt", text);
    assert.match(text, /^patchbench: does not apply to net-next at d297c3ede9e7 \(patch 1\)$/m);
    assert.match(text, /error: patch failed: include\/trace\/events\/tcp\.h:218/);
  });

  test("base notes: each a bullet whose wrapped lines hang under its text, not under the dash", () => {
    const r = structuredClone(reports.doesNotApply);
    r.apply!.data.baseRule = "tree tip";
    r.apply!.data.baseNotes = [
      "base-commit 42e55758e7ca is not in net-next",
      "a series not sent yet: based where its preimage blobs are, not on the tip recorded at ingest",
      "no commit in the last 5000 first-parent commits holds every preimage blob; using the tip",
    ];
    const text = renderText(r);
    assertMailText(text);
    checkGolden("mail-base-notes.txt", text);
  });

  test("infrastructure error: never the author's fault", () => {
    const text = renderText(reports.infraError);
    assertMailText(text);
    checkGolden("mail-infra-error.txt", text);
    assert.match(text, /could not run \(infrastructure, not the series\): netperf exited\s+255: establish control/);
  });
});

describe("wrapCommand", () => {
  const cmds = [
    "ip netns exec nprobe-a netperf -H 192.0.2.2 -p 12865 -t TCP_RR -l 3 -T 0,1 -- -r 1,1 -k THROUGHPUT,THROUGHPUT_UNITS,MEAN_LATENCY,P50_LATENCY,P90_LATENCY,P99_LATENCY",
    "netperf -H 127.0.0.1 -p 22865 -t TCP_RR -l 3 -T 0,1 -- -r 1,1",
    `netperf -k ${"X".repeat(150)} -l 3`,
  ];
  for (const cmd of cmds) {
    test(`pastes back into sh as the same words: ${cmd.slice(0, 40)}...`, () => {
      const lines = wrapCommand(cmd);
      for (const l of lines) assert.ok(l.length <= MAX_COLUMNS, `too long: ${l}`);
      assert.deepEqual(shWords(lines), cmd.split(" "));
    });
  }
});

describe("renderText: a partial re-roll", () => {
  test("names this version's own mail, threads under it and says what was carried", async () => {
    const raws = readMailbox(join(FIXTURES, "mail", "b4", "trailers-followup-partial-reroll.mbox")).messages.map((m) => m.raw);
    const box = await assembleMailbox(raws, { now: Date.parse("2030-01-01T00:00:00Z") });
    const v3 = box.series.find((s) => s.version === 3)!;
    const r = buildReport({ id: "flow-reroll", series: v3, results: [], errors: [], analysis: null, generatedAt: "2026-01-15T12:00:00.000Z", tool: { name: "patchbench", version: "0.1.0" } });
    assert.deepEqual(r.thread, { subject: "Re: [PATCH v3 2/2] Simple test 2", inReplyTo: "patch-v3-2-message@example.com", references: ["patch-v3-2-message@example.com"] });
    const text = renderText(r);
    assertMailText(text);
    assert.match(text, /^Series: \[PATCH v3 2\/2\] Simple test 2\nAuthor: Test Test <test@example\.com>\nReroll: partial, 1\/2 and the cover carried from v2 unchanged \(v3 re-sent\n {8}only 2\/2\)$/m);
  });
});
