import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fixtureReports } from "../../test/integration/mail-fixture-results.ts";
import { DEFAULT_MAIL_POLICY, decideMail, type MailPolicyInput, significantFindings } from "./mail-policy.ts";

const LIST = "netdev@vger.kernel.org";

describe("decideMail (quiet by default, rate limits)", async () => {
  const r = await fixtureReports();
  const input = (o: Partial<MailPolicyInput> = {}): MailPolicyInput => ({
    report: r.doesNotApply,
    requested: false,
    requestedBy: null,
    unreproducedClaims: 0,
    to: ["Eric Dumazet <edumazet@google.com>"],
    cc: [LIST],
    author: "Eric Dumazet <edumazet@google.com>",
    lists: [LIST],
    sentToThread: 0,
    sentToList: {},
    ...o,
  });

  test("a series never posted (synthetic Message-IDs) is never mailed: there is no thread to answer", () => {
    const d = decideMail(input({ unposted: true }), { ...DEFAULT_MAIL_POLICY, quiet: false });
    assert.deepEqual(d, { action: "hold", reasons: ["the series was never posted (synthetic Message-IDs): no thread to answer"] });
  });

  test("a pull request is never mailed, asked for or not: it is answered on GitHub", () => {
    for (const requested of [false, true]) {
      const d = decideMail(input({ pullRequest: true, requested }), { ...DEFAULT_MAIL_POLICY, quiet: false });
      assert.deepEqual(d, { action: "hold", reasons: ["a pull request is answered on GitHub (check run, /bench comment); no list thread to answer"] });
    }
  });

  test("does not apply is mailed to author and list", () => {
    const d = decideMail(input());
    assert.deepEqual(d, { action: "send", to: ["Eric Dumazet <edumazet@google.com>"], cc: [LIST], reasons: ["the series does not apply"] });
  });

  test("the real netperf delay run's first three pairs are noisy, not a regression: held", () => {
    assert.equal(r.noisy.bench?.cells[0]?.analysis.verdict, "noisy");
    assert.deepEqual(significantFindings(r.noisy), []);
    assert.equal(decideMail(input({ report: r.noisy })).action, "hold");
  });

  test("all five pairs of the real netperf delay run are a regression: mailed", () => {
    assert.equal(r.regression.bench?.cells[0]?.analysis.verdict, "regression");
    assert.equal(decideMail(input({ report: r.regression })).action, "send");
  });

  test("a regression or improvement verdict is mailed", () => {
    const cell = r.regression.bench!.cells[0]!;
    for (const verdict of ["regression", "improvement"] as const) {
      const report = { ...r.regression, bench: { ...r.regression.bench!, cells: [{ ...cell, analysis: { ...cell.analysis, verdict } }] } };
      const d = decideMail(input({ report }));
      assert.equal(d.action, "send");
      assert.match(d.reasons.join(), new RegExp(verdict === "regression" ? "regressed" : "improved"));
    }
  });

  test("infrastructure errors stay off the list", () => {
    const d = decideMail(input({ report: r.infraError }));
    assert.equal(d.action, "hold");
    assert.match(d.reasons[0]!, /infrastructure/);
  });

  test("an unreproduced claim is mailed", () => {
    assert.equal(decideMail(input({ report: r.noisy, unreproducedClaims: 1 })).action, "send");
  });

  test("quiet off mails everything; /bench always answered", () => {
    assert.equal(decideMail(input({ report: r.noisy }), { ...DEFAULT_MAIL_POLICY, quiet: false }).action, "send");
    assert.equal(decideMail(input({ report: r.infraError, requested: true })).action, "send");
  });

  test("thread and list limits hold unsolicited mail", () => {
    const t = decideMail(input({ sentToThread: 3 }));
    assert.equal(t.action, "hold");
    assert.match(t.reasons.join(), /thread limit reached: 3 of 3/);
    const l = decideMail(input({ sentToList: { [LIST]: 30 } }));
    assert.equal(l.action, "hold");
    assert.match(l.reasons.join(), /list limit reached for netdev@vger\.kernel\.org/);
    assert.equal(decideMail(input({ sentToThread: 2, sentToList: { [LIST]: 29 } })).action, "send");
  });

  test("over a limit, /bench is answered to the one who asked only", () => {
    const d = decideMail(input({ requested: true, requestedBy: "Ada <ada@example.org>", sentToThread: 9 }));
    assert.equal(d.action, "send");
    if (d.action === "send") {
      assert.deepEqual(d.to, ["Ada <ada@example.org>"]);
      assert.deepEqual(d.cc, []);
    }
    const noOne = decideMail(input({ requested: true, sentToList: { [LIST]: 99 } }));
    assert.equal(noOne.action === "send" && noOne.to[0], "Eric Dumazet <edumazet@google.com>");
  });
});
