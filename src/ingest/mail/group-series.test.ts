import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES, readFixture } from "../../../test/helpers/fixtures.ts";
import { stableId } from "../../domain/ids.ts";
import type { Series } from "../../domain/series.ts";
import { buildPatchMail, buildTestMail } from "./build-test-mail.ts";
import { type GroupSeriesOptions, type GroupSeriesResult, groupSeries } from "./group-series.ts";
import { parseMessage } from "./parse-message.ts";
import { readMailbox } from "./read-mailbox.ts";

async function group(raws: Uint8Array[], options: GroupSeriesOptions = {}): Promise<GroupSeriesResult> {
  const parsed = [];
  for (const r of raws) parsed.push(await parseMessage(r));
  return groupSeries(parsed, { now: Date.parse("2030-01-01T00:00:00Z"), ...options });
}

function mbox(...path: string[]): Uint8Array[] {
  return readMailbox(join(FIXTURES, "mail", ...path)).messages.map((m) => m.raw);
}

const SYSCTL = [
  "v1/00-single-patch.eml",
  "v2/00-cover.eml",
  "v2/01-patch.eml",
  "v2/02-patch.eml",
  "v2/01-1-reply-acked-by-yonghong.eml",
  "v3/00-cover.eml",
  "v3/01-patch.eml",
  "v3/02-patch.eml",
  "v3/01-1-reply-acked-by-yonghong.eml",
  "v3/02-2-reply-acked-by-yonghong.eml",
  "v3/03-reply-patchwork-bot-applied.eml",
].map((f) => readFixture("mail", "bpf-sysctl-get-name", ...f.split("/")));

const YONGHONG = "Acked-by: Yonghong Song <yonghong.song@linux.dev>";

function byVersion(r: GroupSeriesResult, v: number): Series {
  const s = r.series.find((x) => x.version === v);
  assert.ok(s, `no v${v}`);
  return s;
}

describe("groupSeries: bpf-sysctl-get-name v1 → v2 → v3", () => {
  it("links versions, attaches Yonghong's Acked-by to the right patches", async () => {
    const r = await group(SYSCTL);
    assert.equal(r.series.length, 3);
    assert.deepEqual(r.quarantined, []);
    const [v1, v2, v3] = [byVersion(r, 1), byVersion(r, 2), byVersion(r, 3)];
    assert.equal(v1.cover, null);
    assert.equal(v1.total, 1);
    assert.equal(v1.patches[0]?.messageId, "20250527165412.533335-1-jmarchan@redhat.com");
    assert.equal(v1.previousVersion, null);
    assert.equal(v2.previousVersion, "20250527165412.533335-1-jmarchan@redhat.com");
    assert.equal(v3.previousVersion, "20250610091933.717824-1-jmarchan@redhat.com");
    assert.deepEqual(v2.trailers, [{ patch: 1, line: YONGHONG }]);
    assert.deepEqual(v3.trailers, [
      { patch: 1, line: YONGHONG },
      { patch: 2, line: YONGHONG },
    ]);
    assert.equal(v1.trailers.length, 0);
    assert.equal(v3.id, stableId("series", "20250619140603.148942-1-jmarchan@redhat.com", "3"));
    assert.equal(v3.author, "Jerome Marchand <jmarchan@redhat.com>");
    assert.equal(v3.date, "2025-06-19T14:06:01.000Z");
    assert.deepEqual(
      v3.patches.map((p) => p.index),
      [1, 2],
    );
    assert.equal(v3.complete, true);
    assert.match(v3.text ?? "", /Changes in v3/);
    assert.match(v3.text ?? "", /Add MEM_WRITE flag/);
    assert.doesNotMatch(v3.text ?? "", /diff --git/);
    const bot = r.replies.find((x) => x.kind === "bot");
    assert.equal(bot?.seriesId, v3.id);
    assert.equal(bot?.patch, 0);
    for (const s of r.series) assert.equal(r.states[s.id], "complete");
  });

  it("gives the same answer whatever the arrival order", async () => {
    const a = await group(SYSCTL);
    const reversed = await group([...SYSCTL].reverse());
    const shuffled = await group([5, 9, 0, 3, 10, 1, 7, 2, 8, 4, 6].map((i) => SYSCTL[i]!));
    assert.deepEqual(reversed.series, a.series);
    assert.deepEqual(shuffled.series, a.series);
  });

  it("counts a cross-posted copy once; quarantines a same-id mail with another body", async () => {
    const cover = SYSCTL[1]!;
    const viaLkml = Buffer.from(
      Buffer.from(cover).toString("latin1").replace("X-Mailing-List: bpf@vger.kernel.org", "X-Mailing-List: linux-kernel@vger.kernel.org"),
      "latin1",
    );
    const r = await group([...SYSCTL, viaLkml]);
    assert.equal(r.series.length, 3);
    assert.deepEqual(r.quarantined, []);
    const forged = Buffer.concat([Buffer.from(cover), Buffer.from("\nextra text that changes the body\n")]);
    const forgedMiddle = Buffer.from(Buffer.from(cover).toString("latin1").replace("Changes in v2", "Changes in v9"), "latin1");
    const q = await group([...SYSCTL, forgedMiddle]);
    assert.equal(q.quarantined.length, 1);
    assert.equal(q.quarantined[0]?.messageId, "20250610091933.717824-1-jmarchan@redhat.com");
    assert.match(q.quarantined[0]?.reason ?? "", /duplicate Message-ID with a different body/);
    // A list footer appended to one copy is not a different body.
    assert.deepEqual((await group([...SYSCTL, forged])).quarantined, []);
  });
});

describe("groupSeries: threading shapes", () => {
  const mk = (id: string, subject: string, extra: Partial<Parameters<typeof buildPatchMail>[0]> = {}) =>
    buildPatchMail({ id, subject, ...extra });

  it("patches threaded to patch 1 (chain) instead of the cover", async () => {
    const r = await group([
      mk("c@x", "[PATCH 0/3] chain", { body: "cover\n" }),
      mk("p1@x", "[PATCH 1/3] a", { inReplyTo: "c@x", references: ["c@x"] }),
      mk("p2@x", "[PATCH 2/3] b", { inReplyTo: "p1@x" }),
      mk("p3@x", "[PATCH 3/3] c", { inReplyTo: "p2@x" }),
    ]);
    assert.equal(r.series.length, 1);
    assert.equal(r.series[0]?.complete, true);
    assert.equal(r.series[0]?.cover?.messageId, "c@x");
  });

  it("several git-send-email runs: threaded by --in-reply-to, or not threaded at all", async () => {
    const threaded = await group([
      mk("1700000000-1-a@x", "[PATCH v2 0/3] runs", { body: "cover\n" }),
      mk("1700000000-2-a@x", "[PATCH v2 1/3] a", { inReplyTo: "1700000000-1-a@x" }),
      mk("1700000999-1-b@x", "[PATCH v2 2/3] b", { inReplyTo: "1700000000-1-a@x" }),
      mk("1700000999-2-b@x", "[PATCH v2 3/3] c", { inReplyTo: "1700000000-1-a@x" }),
    ]);
    assert.equal(threaded.series.length, 1);
    assert.equal(threaded.series[0]?.complete, true);
    const loose = await group([
      mk("r1-0@x", "[PATCH v2 0/3] runs", { body: "cover\n", date: "Tue, 10 Jun 2025 10:00:00 +0000" }),
      mk("r1-1@x", "[PATCH v2 1/3] a", { inReplyTo: "r1-0@x", date: "Tue, 10 Jun 2025 10:00:01 +0000" }),
      mk("r2-1@x", "[PATCH v2 2/3] b", { date: "Tue, 10 Jun 2025 10:20:00 +0000" }),
      mk("r2-2@x", "[PATCH v2 3/3] c", { date: "Tue, 10 Jun 2025 10:20:01 +0000" }),
    ]);
    assert.equal(loose.series.length, 1);
    assert.deepEqual(loose.series[0]?.missing, []);
  });

  it("missing cover: patches share the id they reply to (the series id stays stable when it arrives)", async () => {
    const patches = [
      mk("p1@x", "[PATCH v2 1/2] a", { inReplyTo: "c@x", references: ["c@x"] }),
      mk("p2@x", "[PATCH v2 2/2] b", { inReplyTo: "c@x", references: ["c@x"] }),
    ];
    const without = await group(patches);
    assert.equal(without.series.length, 1);
    assert.equal(without.series[0]?.cover, null);
    const withCover = await group([...patches, mk("c@x", "[PATCH v2 0/2] late cover", { body: "cover\n" })]);
    assert.equal(withCover.series.length, 1);
    assert.equal(withCover.series[0]?.id, without.series[0]?.id);
  });

  it("an Outlook-rewritten Message-ID still collects its patches and replies", async () => {
    const cover = buildTestMail(
      [
        ["From", "Dev Eloper <dev@example.com>"],
        ["Subject", "[PATCH 0/1] outlook"],
        ["Date", "Tue, 10 Jun 2025 11:19:31 +0200"],
        ["Message-ID", "<AM0PR01MB1234ABCD@AM0PR01MB1234.eurprd01.prod.outlook.com>"],
        ["X-Microsoft-Original-Message-ID", "<orig-cover@example.com>"],
      ],
      "cover\n",
    );
    const r = await group([
      cover,
      mk("p1@x", "[PATCH 1/1] a", { inReplyTo: "orig-cover@example.com" }),
      mk("rv@x", "Re: [PATCH 0/1] outlook", { inReplyTo: "orig-cover@example.com", from: "R <r@x>", body: "Acked-by: R <r@x>\n" }),
    ]);
    assert.equal(r.series.length, 1);
    assert.equal(r.series[0]?.cover?.messageId, "AM0PR01MB1234ABCD@AM0PR01MB1234.eurprd01.prod.outlook.com");
    assert.equal(r.series[0]?.complete, true);
    assert.deepEqual(r.series[0]?.trailers, [{ patch: 0, line: "Acked-by: R <r@x>" }]);
  });

  it("incomplete: waiting before the deadline, final after it", async () => {
    const raws = [
      mk("c@x", "[PATCH 0/3] partial", { body: "cover\n", date: "Tue, 10 Jun 2025 10:00:00 +0000" }),
      mk("p1@x", "[PATCH 1/3] a", { inReplyTo: "c@x", date: "Tue, 10 Jun 2025 10:00:01 +0000" }),
    ];
    const t = Date.parse("2025-06-10T10:00:01Z");
    const early = await group(raws, { now: t + 3_600_000, incompleteAfterMs: 24 * 3_600_000 });
    const s = early.series[0]!;
    assert.deepEqual(s.missing, [2, 3]);
    assert.equal(s.complete, false);
    assert.equal(early.states[s.id], "waiting");
    const late = await group(raws, { now: t + 48 * 3_600_000, incompleteAfterMs: 24 * 3_600_000 });
    assert.equal(late.states[s.id], "incomplete");
  });

  it("links versions by b4 change-id even when the title changed", async () => {
    const r = await group([
      mk("v1c@x", "[PATCH 0/1] old title", { body: "cover\n\nchange-id: 20250101-thing-abc\n", date: "Mon, 9 Jun 2025 10:00:00 +0000" }),
      mk("v1p@x", "[PATCH 1/1] a", { inReplyTo: "v1c@x", date: "Mon, 9 Jun 2025 10:00:00 +0000" }),
      mk("v2c@x", "[PATCH v2 0/1] new title", { body: "cover\n\nchange-id: 20250101-thing-abc\n", from: "Other Address <o@x>" }),
      mk("v2p@x", "[PATCH v2 1/1] a", { inReplyTo: "v2c@x" }),
    ]);
    const v2 = byVersion(r, 2);
    assert.equal(v2.changeId, "20250101-thing-abc");
    assert.equal(v2.previousVersion, "v1c@x");
  });

  it("a pull request with its patches is one series of kind pull", async () => {
    const r = await group([
      mk("pr@x", "[pull request][net-next 00/2] mlx5 updates", { body: "Hi Dave,\n\nThe following changes since commit 0123456789ab:\n\nare available in the Git repository at:\n" }),
      mk("pr1@x", "[net-next 01/2] net/mlx5: a", { inReplyTo: "pr@x" }),
      mk("pr2@x", "[net-next 02/2] net/mlx5: b", { inReplyTo: "pr@x" }),
    ]);
    assert.equal(r.series.length, 1);
    assert.equal(r.series[0]?.kind, "pull");
    assert.equal(r.series[0]?.tree, "net-next");
    assert.equal(r.series[0]?.complete, true);
  });

  it("commands, flowed patches, HTML-only and id-less mail", async () => {
    const flowed = buildPatchMail({
      id: "fl@x",
      subject: "[PATCH] flowed",
      extra: [["Content-Type", "text/plain; charset=utf-8; format=flowed"]],
    });
    const html = buildTestMail(
      [
        ["Message-ID", "<html@x>"],
        ["Subject", "[PATCH] html"],
        ["Content-Type", "text/html"],
      ],
      "<p>diff</p>\n",
    );
    const noId = buildTestMail([["Subject", "[PATCH] no id"]], "x\n");
    const cmd = mk("cmd@x", "Re: [PATCH] flowed", { inReplyTo: "fl@x", body: "/bench netperf TCP_RR 1B\n" });
    const r = await group([flowed, html, noId, cmd]);
    // The only patch is quarantined: no series is left to run.
    assert.equal(r.series.length, 0);
    assert.deepEqual(
      r.quarantined.map((q) => [q.messageId, q.reason]),
      [
        ["fl@x", "format=flowed patch would be mangled by git am"],
        ["html@x", "HTML-only mail: no text/plain part"],
        [null, 'missing Message-ID header (subject: "[PATCH] no id")'],
      ],
    );
    const c = r.replies.find((x) => x.kind === "command");
    assert.equal(c?.command, "/bench netperf TCP_RR 1B");
    assert.equal(c?.seriesId, null);
  });
});

describe("groupSeries: patchwork fixtures", () => {
  it("folded ids and two In-Reply-To headers (series-bugs-multiple-references)", async () => {
    const r = await group(mbox("patchwork", "series-bugs-multiple-references.mbox"));
    assert.equal(r.series.length, 1);
    const s = r.series[0]!;
    assert.equal(s.version, 2);
    assert.equal(s.cover?.messageId, "cover.1495511998.git.viresh.kumar@linaro.org");
    assert.deepEqual(
      s.patches.map((p) => p.index),
      [1, 2, 3, 4],
    );
    assert.equal(s.complete, true);
  });

  it("unthreaded cover + patches, odd `[Patch 2/2]:` marker", async () => {
    const r = await group(mbox("patchwork", "series-base-no-references-no-cover.mbox"));
    assert.equal(r.series.length, 1);
    assert.equal(r.series[0]?.complete, true);
    assert.equal(r.series[0]?.cover?.subject.startsWith("[PATCH 0/2]"), true);
  });

  it("patchwork-style prefixes, unthreaded, sent twice → two complete series", async () => {
    const once = await group(mbox("patchwork", "series-base-no-references.mbox"));
    assert.equal(once.series.length, 1);
    assert.equal(once.series[0]?.tree, "net");
    assert.equal(once.series[0]?.complete, true);
    const twice = await group(mbox("patchwork", "series-revision-unlabeled-noreferences.mbox"));
    assert.equal(twice.series.length, 2);
    for (const s of twice.series) assert.deepEqual(s.missing, []);
  });

  it("spamming: the same 1/4 sent three times does not merge into one series", async () => {
    const r = await group(mbox("patchwork", "series-bugs-spamming.mbox"));
    assert.equal(r.series.length, 3);
    for (const s of r.series) {
      assert.deepEqual(s.missing, [2, 3, 4]);
      assert.equal(r.states[s.id], "incomplete");
    }
  });

  it("v2 threaded to the v1 cover links to v1; patches without a version take the cover's", async () => {
    const r = await group(mbox("patchwork", "series-revision-threaded-to-cover.mbox"));
    assert.equal(r.series.length, 2);
    assert.equal(byVersion(r, 2).previousVersion, "1473632524-8585-1-git-send-email-stephenfinucane@gmail.com");
    assert.equal(byVersion(r, 2).complete, true);
    const d = await group(mbox("patchwork", "series-base-different-versions.mbox"));
    assert.equal(d.series.length, 1);
    assert.equal(d.series[0]?.version, 3);
    assert.equal(d.series[0]?.tree, "net-next");
    assert.equal(d.series[0]?.complete, true);
  });

  it("Mercurial `[PATCH 0 of 2]` series", async () => {
    const r = await group(mbox("patchwork", "series-mercurial-cover-letter.mbox"));
    assert.equal(r.series.length, 1);
    assert.equal(r.series[0]?.complete, true);
  });

  it("an unnumbered patch in a thread stays out of the series", async () => {
    const r = await group(mbox("patchwork", "series-bugs-unnumbered.mbox"));
    assert.equal(r.series.length, 1);
    assert.deepEqual(r.series[0]?.missing, [2]);
    assert.equal(r.replies.length, 1);
    assert.equal(r.replies[0]?.messageId, "1473632524-8585-3-git-send-email-stephenfinucane@gmail.com");
  });
});

describe("groupSeries: b4 follow-up trailers", () => {
  it("thread with follow-ups: trailer on patch 4; base-commit and change-id from the cover", async () => {
    const r = await group(mbox("b4", "trailers-thread-with-followups.mbox"));
    const s = r.series[0]!;
    assert.equal(s.baseCommit, "f435c12df7c0ecf20ab8937859e63cddffacabb4");
    assert.equal(s.changeId, "20221025-test1-e8520c2200a3");
    assert.deepEqual(s.trailers, [{ patch: 4, line: "Reviewed-by: Follow Upper <follow.upper@example.org>" }]);
  });

  it("a reply to the cover gives trailers for the whole series (patch 0)", async () => {
    const r = await group(mbox("b4", "trailers-followup-with-cover.mbox"));
    assert.deepEqual(r.series[0]?.trailers, [
      { patch: 0, line: "Reviewed-by: Coverletter Reviewer1 <followup-reviewer1@example.com>" },
      { patch: 2, line: "Reviewed-by: Followup Reviewer1 <followup-reviewer1@example.com>" },
    ]);
  });

  it("partial reroll: v3 of patch 2 only is v2's cover and 1/2 plus v3's 2/2, as b4 builds it", async () => {
    const r = await group(mbox("b4", "trailers-followup-partial-reroll.mbox"));
    const v3 = byVersion(r, 3);
    assert.deepEqual(v3.missing, []);
    assert.equal(v3.complete, true);
    assert.equal(r.states[v3.id], "complete");
    assert.equal(v3.title, "Simple cover");
    assert.deepEqual(v3.cover, { messageId: "cover-message@example.com", subject: "[PATCH v2 0/2] Simple cover", carriedFrom: 2 });
    assert.deepEqual(
      v3.patches.map((p) => [p.index, p.messageId, p.carriedFrom]),
      [
        [1, "patch-1-message@example.com", 2],
        [2, "patch-v3-2-message@example.com", undefined],
      ],
    );
    assert.equal(v3.previousVersion, "cover-message@example.com");
    // The cover's trailer comes along; the review of v2's 2/2 does not (v3 changed that patch).
    assert.deepEqual(v3.trailers, [{ patch: 0, line: "Reviewed-by: Coverletter Reviewer1 <followup-reviewer1@example.com>" }]);
    // v2 keeps its own mails and trailers.
    const v2 = byVersion(r, 2);
    assert.equal(v2.patches.every((p) => p.carriedFrom === undefined), true);
    assert.equal(v2.trailers.length, 2);
  });

  it("custody: a reply to a reply still counts for the patch; quoted trailers do not", async () => {
    const r = await group(mbox("b4", "trailers-followup-custody.mbox"));
    assert.deepEqual(r.series[0]?.trailers, [
      { patch: 1, line: "Reviewed-by: Followup Reviewer1 <followup-reviewer1@example.com>" },
      { patch: 1, line: "Tested-by: Followup Reviewer2 <followup-reviewer2@example.com>" },
    ]);
  });

  it("names with parentheses/brackets/commas: only trailers naming their sender count, the others are kept aside", async () => {
    const p = await group(mbox("b4", "trailers-followup-name-parens.mbox"));
    assert.deepEqual(p.series[0]?.trailers, [
      { patch: 1, line: "Reviewed-by: Followup Reviewer1 (corporate) <followup-reviewer1@example.com>" },
      { patch: 1, line: "Tested-by: Followup Reviewer2 <followup-reviewer2@example.com>" },
    ]);
    assert.deepEqual(p.series[0]?.unattributedTrailers, [
      {
        patch: 1,
        line: "Reviewed-by: Mismatched Reviewer1 <mismatched-reviewer1@example.net>",
        from: "Mismatched Reviewer <mismatched-reviewer1@example.com>",
        reason: "sender mismatched-reviewer1@example.com is not mismatched-reviewer1@example.net",
      },
      {
        patch: 1,
        line: "Tested-by: Followup Tester1 [corporate] <followup-tester1@example.com>",
        from: "Followup Tester1 <followup-tester1@example.com>",
        reason: 'sender followup-tester1@example.com, but the trailer\'s address cannot be read: unquoted "[" in the name',
      },
      {
        patch: 1,
        line: "Tested-by: Tester2, Followup <followup-tester2@example.com>",
        from: "Followup Tester2 <followup-tester2@example.com>",
        reason: 'sender followup-tester2@example.com, but the trailer\'s address cannot be read: unquoted "," in the name',
      },
    ]);
  });

  it("HTML junk around the address", async () => {
    const h = await group(mbox("b4", "trailers-followup-htmljunk.mbox"));
    assert.deepEqual(h.series[0]?.trailers, [{ patch: 1, line: "Reviewed-by: HTML Junker <html-junker@example.com>" }]);
  });

  it("a patch replying to a bug report is still a series; the report is other", async () => {
    const r = await group(mbox("b4", "naked-cover-bugreport.mbox"));
    assert.equal(r.series.length, 1);
    assert.equal(r.replies[0]?.kind, "other");
  });
});

describe("groupSeries: the JSON contract", () => {
  it("has exactly the contract's fields", async () => {
    const r = await group(SYSCTL);
    const keys = Object.keys(r.series[1]!).sort();
    assert.deepEqual(
      keys,
      [
        "author",
        "baseCommit",
        "changeId",
        "complete",
        "cover",
        "date",
        "id",
        "kind",
        "lists",
        "missing",
        "patches",
        "previousVersion",
        "resend",
        "rfc",
        "source",
        "text",
        "title",
        "total",
        "trailers",
        "tree",
        "version",
      ],
    );
    assert.deepEqual(Object.keys(r.series[1]!.patches[0]!).sort(), ["author", "index", "messageId", "subject"]);
    // The list its mails came through (List-Id: <bpf.vger.kernel.org>), for the dashboard's list filter.
    assert.deepEqual(r.series[1]!.lists, ["bpf.vger.kernel.org"]);
    for (const rep of r.replies) {
      for (const k of ["messageId", "inReplyTo", "kind", "from", "subject"]) assert.ok(k in rep, k);
    }
    const json = JSON.parse(JSON.stringify({ series: r.series, replies: r.replies, quarantined: r.quarantined }));
    assert.ok(!JSON.stringify(json).includes("<20250610091933"), "no angle brackets around ids");
  });
});
