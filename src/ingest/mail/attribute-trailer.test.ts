import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attributeTrailer, isPersonTrailer, sameAddress } from "./attribute-trailer.ts";
import { buildPatchMail } from "./build-test-mail.ts";
import { groupSeries } from "./group-series.ts";
import { parseMessage } from "./parse-message.ts";

const t = (line: string) => {
  const i = line.indexOf(": ");
  return { name: line.slice(0, i), value: line.slice(i + 2) };
};
const from = (name: string, email: string) => ({ name, email });

describe("sameAddress (b4's email_eq)", () => {
  it("ignores case, a +tag and one subdomain level; nothing else", () => {
    assert.equal(sameAddress("Jane@Example.COM", "jane@example.com"), true);
    assert.equal(sameAddress("jane+kernel@example.com", "jane@example.com"), true);
    assert.equal(sameAddress("jane@linux.intel.com", "jane@intel.com"), true);
    assert.equal(sameAddress("jane@a.b.intel.com", "jane@intel.com"), false);
    assert.equal(sameAddress("jane@example.net", "jane@example.com"), false);
    assert.equal(sameAddress("john@example.com", "jane@example.com"), false);
    assert.equal(sameAddress("Followup", "followup@example.com"), false);
  });
});

describe("attributeTrailer", () => {
  it("a trailer naming the sender's address counts", () => {
    assert.deepEqual(attributeTrailer(t("Acked-by: Jane Doe <jane@example.com>"), from("Jane Doe", "JANE@example.com")), { attributed: true });
    // A comment in the name is part of the name; the address still matches.
    assert.deepEqual(attributeTrailer(t("Reviewed-by: Jane Doe (ACME) <jane@example.com>"), from("Jane Doe", "jane@example.com")), { attributed: true });
  });

  it("someone else's address does not, unless the name is the sender's (a second account)", () => {
    assert.deepEqual(attributeTrailer(t("Reviewed-by: Jane Doe <jane@corp.example>"), from("Mallory", "mallory@example.com")), {
      attributed: false,
      reason: "sender mallory@example.com is not jane@corp.example",
    });
    assert.deepEqual(attributeTrailer(t("Reviewed-by: Jane Doe <jane@corp.example>"), from("jane doe", "jdoe@home.example")), { attributed: true });
  });

  it('a "Last, First" sender matches a trailer holding both parts; not any trailer (b4\'s slip)', () => {
    assert.deepEqual(attributeTrailer(t("Tested-by: Jane Doe <jane@corp.example>"), from("Doe, Jane", "jd@home.example")), { attributed: true });
    assert.equal(attributeTrailer(t("Tested-by: Linus <l@kernel.example>"), from("Doe, Jane", "jd@home.example")).attributed, false);
  });

  it("empty names never match each other", () => {
    assert.equal(attributeTrailer(t("Acked-by: other@example.org"), from("", "me@example.com")).attributed, false);
  });

  it("an unquoted [ or , in the name leaves no address, whoever sends it", () => {
    assert.deepEqual(attributeTrailer(t("Tested-by: Jane [ACME] <jane@example.com>"), from("Jane", "jane@example.com")), {
      attributed: false,
      reason: 'sender jane@example.com, but the trailer\'s address cannot be read: unquoted "[" in the name',
    });
    assert.equal(attributeTrailer(t('Tested-by: "Doe, Jane" <jane@example.com>'), from("Jane", "jane@example.com")).attributed, true);
  });

  it("trailers naming no person (Fixes, Link, links) need no match", () => {
    assert.equal(isPersonTrailer(t("Fixes: 0123456789ab (\"x: y\")")), false);
    assert.equal(isPersonTrailer(t("Link: https://lore.kernel.org/r/a@b.c")), false);
    assert.equal(isPersonTrailer(t("Closes: https://bugzilla.example.org/1")), false);
    assert.equal(isPersonTrailer(t("Reported-by: A <a@b.example>")), true);
    assert.deepEqual(attributeTrailer(t("Link: https://lore.kernel.org/r/a@b.c"), from("X", "x@example.com")), { attributed: true });
  });
});

async function seriesOf(mails: Buffer[]) {
  const parsed = [];
  for (const m of mails) parsed.push(await parseMessage(m));
  return groupSeries(parsed, { now: Date.parse("2030-01-01T00:00:00Z") }).series[0];
}

describe("groupSeries: follow-up trailer attribution", () => {
  it("a refused trailer stays refused when someone answers its mail with a trailer (b4 0.12 would then attach it)", async () => {
    const s = await seriesOf([
      buildPatchMail({ id: "p@x", subject: "[PATCH] thing" }),
      buildPatchMail({ id: "r1@x", subject: "Re: [PATCH] thing", from: "Mallory <mallory@example.org>", inReplyTo: "p@x", body: "Reviewed-by: Jane Doe <jane@example.com>\n" }),
      buildPatchMail({ id: "r2@x", subject: "Re: [PATCH] thing", from: "Bob <bob@example.com>", inReplyTo: "r1@x", body: "Tested-by: Bob <bob@example.com>\n" }),
    ]);
    assert.deepEqual(s?.trailers, [{ patch: 1, line: "Tested-by: Bob <bob@example.com>" }]);
    assert.deepEqual(s?.unattributedTrailers?.map((t) => t.line), ["Reviewed-by: Jane Doe <jane@example.com>"]);
  });

  it("keeps refused trailers aside with who sent them; a refused copy does not hide an attributed one", async () => {
    const mails = [
      buildPatchMail({ id: "p@x", subject: "[PATCH] thing" }),
      buildPatchMail({
        id: "r1@x",
        subject: "Re: [PATCH] thing",
        from: "Mallory <mallory@example.org>",
        inReplyTo: "p@x",
        body: "> quoted\n\nReviewed-by: Jane Doe <jane@example.com>\nAcked-by: Mallory <mallory@example.org>\n",
      }),
      buildPatchMail({
        id: "r2@x",
        subject: "Re: [PATCH] thing",
        from: "Jane Doe <jane@example.com>",
        inReplyTo: "r1@x",
        body: "Reviewed-by: Jane Doe <jane@example.com>\n",
      }),
    ];
    const s = await seriesOf(mails);
    assert.deepEqual(s?.trailers, [
      { patch: 1, line: "Acked-by: Mallory <mallory@example.org>" },
      { patch: 1, line: "Reviewed-by: Jane Doe <jane@example.com>" },
    ]);
    assert.deepEqual(s?.unattributedTrailers, [
      {
        patch: 1,
        line: "Reviewed-by: Jane Doe <jane@example.com>",
        from: "Mallory <mallory@example.org>",
        reason: "sender mallory@example.org is not jane@example.com",
      },
    ]);
  });
});
