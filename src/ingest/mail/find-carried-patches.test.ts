import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stableId } from "../../domain/ids.ts";
import type { Series } from "../../domain/series.ts";
import { buildPatchMail } from "./build-test-mail.ts";
import { findCarriedPatches } from "./find-carried-patches.ts";
import { type GroupSeriesOptions, type GroupSeriesResult, groupSeries } from "./group-series.ts";
import { parseMessage } from "./parse-message.ts";

interface N {
  name: string;
  member: boolean;
  index: number;
  total: number;
  parent?: N;
  group?: G;
}
interface G {
  version: number;
  total: number;
  members: N[];
}

function series(version: number, total: number, indices: number[], parents: (N | undefined)[] = []): G {
  const g: G = { version, total, members: [] };
  indices.forEach((index, i) => {
    const n: N = { name: `v${version}-${index}`, member: true, index, total, group: g };
    const parent = parents[i];
    if (parent !== undefined) n.parent = parent;
    g.members.push(n);
  });
  return g;
}

const links = { parentOf: (n: N) => n.parent, groupsOf: (n: N) => (n.group ? [n.group] : []), membersOf: (g: G) => g.members };
const names = (r: { nodes: N[] } | null) => r?.nodes.map((n) => n.name) ?? null;

describe("findCarriedPatches", () => {
  const v2 = series(2, 3, [0, 1, 2, 3]);
  const at = (i: number) => v2.members.find((m) => m.index === i)!;

  it("takes the cover and the patches not re-sent from version N-1", () => {
    const v3 = series(3, 3, [2], [at(2)]);
    const r = findCarriedPatches(v3, v3.members, links);
    assert.equal(r?.from, v2);
    assert.deepEqual(names(r), ["v2-0", "v2-1", "v2-3"]);
  });

  it("finds the counterpart further up the In-Reply-To chain (a reply in between)", () => {
    const review: N = { name: "review", member: false, index: 2, total: 3, parent: at(2) };
    const v3 = series(3, 3, [0, 2], [undefined, review]);
    assert.deepEqual(names(findCarriedPatches(v3, v3.members, links)), ["v2-1", "v2-3"]);
  });

  it("is no re-roll when a patch does not answer its counterpart, or the versions are not adjacent", () => {
    const toCover = series(3, 3, [2], [at(0)]);
    assert.equal(findCarriedPatches(toCover, toCover.members, links), null);
    const unthreaded = series(3, 3, [2]);
    assert.equal(findCarriedPatches(unthreaded, unthreaded.members, links), null);
    const v4 = series(4, 3, [2], [at(2)]);
    assert.equal(findCarriedPatches(v4, v4.members, links), null);
    const otherTotal = series(3, 4, [2], [at(2)]);
    assert.equal(findCarriedPatches(otherTotal, otherTotal.members, links), null);
  });

  it("is no re-roll when nothing is missing or it is version 1", () => {
    const whole = series(3, 3, [1, 2, 3], [at(1), at(2), at(3)]);
    assert.equal(findCarriedPatches(whole, whole.members, links), null);
    const v1 = series(1, 3, [2]);
    assert.equal(findCarriedPatches(v1, v1.members, links), null);
  });
});

async function group(raws: Uint8Array[], options: GroupSeriesOptions = {}): Promise<GroupSeriesResult> {
  const parsed = [];
  for (const r of raws) parsed.push(await parseMessage(r));
  return groupSeries(parsed, { now: Date.parse("2030-01-01T00:00:00Z"), ...options });
}

function byVersion(r: GroupSeriesResult, v: number): Series {
  const s = r.series.find((x) => x.version === v);
  assert.ok(s, `no v${v}`);
  return s;
}

const DAY1 = "Tue, 10 Jun 2025 10:00:00 +0000";
const DAY2 = "Wed, 11 Jun 2025 10:00:00 +0000";
const DAY3 = "Thu, 12 Jun 2025 10:00:00 +0000";

/** v2 0/3..3/3 as git send-email threads it, with reviews on the cover, 1/3 and 2/3. */
const V2 = [
  buildPatchMail({ id: "v2-0@x", subject: "[PATCH net-next v2 0/3] tcp: thing", date: DAY1, body: "Cover text.\n\n---\n 1 file changed, 1 insertion(+)\n" }),
  ...[1, 2, 3].map((i) =>
    buildPatchMail({ id: `v2-${i}@x`, subject: `[PATCH net-next v2 ${i}/3] tcp: part ${i}`, date: DAY1, inReplyTo: "v2-0@x", references: ["v2-0@x"] }),
  ),
  buildPatchMail({ id: "rv0@x", subject: "Re: [PATCH net-next v2 0/3] tcp: thing", from: "Rev Iewer <rev@example.org>", inReplyTo: "v2-0@x", body: "Acked-by: Rev Iewer <rev@example.org>\n" }),
  buildPatchMail({ id: "rv1@x", subject: "Re: [PATCH net-next v2 1/3] tcp: part 1", from: "Rev Iewer <rev@example.org>", inReplyTo: "v2-1@x", body: "Reviewed-by: Rev Iewer <rev@example.org>\n" }),
  buildPatchMail({ id: "rv2@x", subject: "Re: [PATCH net-next v2 2/3] tcp: part 2", from: "Rev Iewer <rev@example.org>", inReplyTo: "v2-2@x", body: "> +new\n\nThis is wrong.\n" }),
];
const V3_2 = buildPatchMail({
  id: "v3-2@x",
  subject: "[PATCH net-next v3 2/3] tcp: part 2",
  date: DAY2,
  inReplyTo: "rv2@x",
  references: ["v2-0@x", "v2-2@x", "rv2@x"],
});

describe("groupSeries: partial re-rolls", () => {
  it("v3 of patch 2 only, sent in reply to the review of v2's 2/3: v2's cover, 1/3 and 3/3 complete it", async () => {
    const r = await group([...V2, V3_2]);
    assert.equal(r.series.length, 2);
    const v3 = byVersion(r, 3);
    assert.equal(v3.complete, true);
    assert.deepEqual(v3.missing, []);
    assert.equal(v3.id, stableId("series", "v3-2@x", "3"), "the id is the one the incomplete v3 had");
    assert.equal(v3.title, "tcp: thing");
    assert.equal(v3.tree, "net-next");
    assert.equal(v3.cover?.carriedFrom, 2);
    assert.deepEqual(
      v3.patches.map((p) => [p.index, p.messageId, p.carriedFrom ?? null]),
      [
        [1, "v2-1@x", 2],
        [2, "v3-2@x", null],
        [3, "v2-3@x", 2],
      ],
    );
    assert.equal(v3.previousVersion, "v2-0@x");
    assert.equal(v3.date, "2025-06-11T10:00:00.000Z", "the date is v3's own");
    // What was said of the carried mails comes along; nothing is said of the new 2/3 yet.
    assert.deepEqual(v3.trailers, [
      { patch: 0, line: "Acked-by: Rev Iewer <rev@example.org>" },
      { patch: 1, line: "Reviewed-by: Rev Iewer <rev@example.org>" },
    ]);
    assert.match(v3.text ?? "", /Cover text\./);
    // v2 is untouched, and replies to v2's mails stay v2's.
    const v2 = byVersion(r, 2);
    assert.equal(v2.cover?.carriedFrom, undefined);
    assert.equal(r.replies.find((x) => x.messageId === "rv1@x")?.seriesId, v2.id);
  });

  it("waits out the incomplete deadline before it counts as complete (the rest of a full re-send may be coming)", async () => {
    const t = Date.parse("2025-06-11T10:00:00Z");
    const early = await group([...V2, V3_2], { now: t + 60_000, incompleteAfterMs: 3_600_000 });
    const v3 = byVersion(early, 3);
    assert.equal(early.states[v3.id], "waiting");
    assert.equal(early.deadlines[v3.id], t + 3_600_000);
    const late = await group([...V2, V3_2], { now: t + 2 * 3_600_000, incompleteAfterMs: 3_600_000 });
    assert.equal(late.states[v3.id], "complete");
  });

  it("a re-roll of a re-roll: v4 of 3/3 takes the cover, 1/3 and 2/3 from the v3 built from v2", async () => {
    const v4 = buildPatchMail({ id: "v4-3@x", subject: "[PATCH net-next v4 3/3] tcp: part 3", date: DAY3, inReplyTo: "v2-3@x" });
    // v4's 3/3 answers v2's 3/3 (v3 never re-sent it): b4 takes the rest from v3 all the same.
    const r = await group([...V2, V3_2, v4]);
    const s = byVersion(r, 4);
    assert.equal(s.complete, true);
    assert.deepEqual(
      s.patches.map((p) => [p.messageId, p.carriedFrom ?? null]),
      [
        ["v2-1@x", 3],
        ["v3-2@x", 3],
        ["v4-3@x", null],
      ],
    );
    assert.equal(s.cover?.messageId, "v2-0@x");
  });

  it("not a re-roll: a lone v3 patch threaded to v2's cover stays an incomplete v3", async () => {
    const lone = buildPatchMail({ id: "v3-2b@x", subject: "[PATCH net-next v3 2/3] tcp: part 2", date: DAY2, inReplyTo: "v2-0@x" });
    const s = byVersion(await group([...V2, lone]), 3);
    assert.deepEqual(s.missing, [1, 3]);
    assert.equal(s.patches.every((p) => p.carriedFrom === undefined), true);
    assert.equal(s.cover, null);
  });

  it("a full v3, each patch answering its counterpart, carries nothing", async () => {
    const full = [1, 2, 3].map((i) =>
      buildPatchMail({ id: `v3f-${i}@x`, subject: `[PATCH net-next v3 ${i}/3] tcp: part ${i}`, date: DAY2, inReplyTo: `v2-${i}@x` }),
    );
    const s = byVersion(await group([...V2, ...full]), 3);
    assert.equal(s.complete, true);
    assert.deepEqual(
      s.patches.map((p) => [p.messageId, p.carriedFrom ?? null]),
      [
        ["v3f-1@x", null],
        ["v3f-2@x", null],
        ["v3f-3@x", null],
      ],
    );
  });
});
