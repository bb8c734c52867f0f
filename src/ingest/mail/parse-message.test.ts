import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES, readFixture } from "../../../test/helpers/fixtures.ts";
import { buildTestMail } from "./build-test-mail.ts";
import { decodeQuotedPrintable, parseMessage } from "./parse-message.ts";
import { readMailbox } from "./read-mailbox.ts";

function allMailFiles(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...allMailFiles(p));
    else if (/\.(eml|mbox)$/.test(f)) out.push(p);
  }
  return out;
}

describe("parseMessage on every fixture mail", () => {
  const files = allMailFiles(join(FIXTURES, "mail"));
  it("finds the fixture mails (.eml, .mbox, apply-6.1)", () => {
    assert.ok(files.length >= 80, `only ${files.length} files`);
    assert.ok(files.some((f) => f.includes("apply-6.1")));
  });
  for (const file of files) {
    it(file.slice(FIXTURES.length + 1), async () => {
      const { messages } = readMailbox(file);
      assert.ok(messages.length >= 1);
      for (const m of messages) {
        const parsed = await parseMessage(m.raw);
        assert.equal(parsed.raw, m.raw, "raw is the very same bytes");
        assert.equal(typeof parsed.body, "string");
        assert.equal(typeof parsed.subject, "string");
      }
    });
  }
});

describe("parseMessage headers", () => {
  it("unfolds a Message-Id folded onto the next line (patchwork-bot)", async () => {
    const m = await parseMessage(readFixture("mail", "bpf-sysctl-get-name", "v3", "03-reply-patchwork-bot-applied.eml"));
    assert.equal(m.messageId, "175074120875.3399614.10605130442249512213.git-patchwork-notify@kernel.org");
    assert.equal(m.inReplyTo, "20250619140603.148942-1-jmarchan@redhat.com");
    assert.equal(m.subject, "Re: [PATCH v3 0/2] bpf: Specify access type of bpf_sysctl_get_name args");
    assert.equal(m.from.email, "patchwork-bot+netdevbpf@kernel.org");
  });

  it("reads a real list mail: ids, references, from, date, list", async () => {
    const m = await parseMessage(readFixture("mail", "bpf-sysctl-get-name", "v2", "01-1-reply-acked-by-yonghong.eml"));
    assert.equal(m.messageId, "f8ecfb2d-c82f-4785-b5dd-eccec0d13f8a@linux.dev");
    assert.deepEqual(m.references, [
      "20250527165412.533335-1-jmarchan@redhat.com",
      "20250610091933.717824-1-jmarchan@redhat.com",
      "20250610091933.717824-2-jmarchan@redhat.com",
    ]);
    assert.deepEqual(m.from, { name: "Yonghong Song", email: "yonghong.song@linux.dev" });
    assert.equal(m.date, "2025-06-10T16:41:52.000Z");
    assert.equal(m.headers.contentType.flowed, true);
    assert.equal(m.headers.mailingList, "bpf@vger.kernel.org");
    assert.ok(m.headers.authenticationResults.length > 0);
    assert.match(m.body, /^Acked-by: Yonghong Song <yonghong.song@linux.dev>$/m);
  });

  it("keeps both In-Reply-To headers and folded values", async () => {
    const r = readMailbox(join(FIXTURES, "mail", "patchwork", "series-bugs-multiple-references.mbox"));
    const m = await parseMessage(r.messages[2]!.raw);
    assert.equal(m.messageId, "ed9beaec36649c862369a34ea209822c00d86f52.1495511998.git.viresh.kumar@linaro.org");
    assert.deepEqual(m.inReplyToAll, [
      "b9f67b2be37d5e9740a5e1ed85b0e8b4e5c0eb91.1495511998.git.viresh.kumar@linaro.org",
      "cover.1495511998.git.viresh.kumar@linaro.org",
    ]);
  });

  it("missing Message-ID → null; missing everything → problems, no throw", async () => {
    const m = await parseMessage(buildTestMail([["Subject", "x"]], "body\n"));
    assert.equal(m.messageId, null);
    const junk = await parseMessage(new Uint8Array([0, 1, 2, 255, 254, 10, 10, 1]));
    assert.equal(junk.messageId, null);
    assert.ok(junk.problems.includes("no RFC 5322 header block"));
  });

  it("decodes RFC 2047 names and subjects, and raw UTF-8 headers", async () => {
    const m = await parseMessage(readFixture("mail", "public-inbox", "utf8.eml"));
    assert.match(m.subject, /Eléanor/);
    assert.equal(m.from.name, "Eléanor");
    const r = readMailbox(join(FIXTURES, "mail", "patchwork", "mail-0014-with-unencoded-utf8-headers.mbox"));
    const u = await parseMessage(r.messages[0]!.raw);
    assert.equal(u.from.name, "Rafał Miłecki");
  });

  it("an Outlook-style X-Microsoft-Original-Message-ID is kept", async () => {
    const m = await parseMessage(
      buildTestMail(
        [
          ["Message-ID", "<AM0PR01MB1234.eurprd01.prod.outlook.com>"],
          ["X-Microsoft-Original-Message-ID", "<20250101-1-dev@example.com>"],
        ],
        "x\n",
      ),
    );
    assert.equal(m.headers.originalMessageId, "20250101-1-dev@example.com");
  });

  it("a References header of 60,000 ids (a header bomb): linear, in order, duplicates dropped", async () => {
    const ids = Array.from({ length: 60_000 }, (_, i) => `<bomb-${i}@evil.example>`);
    const raw = buildTestMail([["Message-ID", "<bomb@x>"], ["In-Reply-To", "<c@x> <c@x>"], ["References", `<c@x>\n ${ids.join("\n ")}\n <c@x>`]], "x\n");
    const t0 = performance.now();
    const m = await parseMessage(raw);
    const ms = performance.now() - t0;
    assert.equal(m.references.length, 60_001);
    assert.deepEqual(m.references.slice(0, 2), ["c@x", "bomb-0@evil.example"]);
    assert.deepEqual(m.inReplyToAll, ["c@x"]);
    // The quadratic version took minutes here; linear is well under a second even on a loaded VM.
    assert.ok(ms < 5_000, `${Math.round(ms)} ms`);
  });

  it("collects X-Patchbench-* headers", async () => {
    const m = await parseMessage(buildTestMail([["X-Patchbench-Run", "abc"], ["Message-ID", "<a@b>"]], "x\n"));
    assert.deepEqual(m.headers.patchbench, { "x-patchbench-run": "abc" });
  });
});

describe("parseMessage bodies", () => {
  it("quoted-printable with soft line breaks", async () => {
    const m = await parseMessage(readFixture("mail", "public-inbox", "plack-qp.eml"));
    assert.ok(!m.body.includes("=\n"));
    assert.ok(m.body.length > 0);
    assert.equal(decodeQuotedPrintable(Buffer.from("a=3Db=\nc=C3=A9")).toString("utf8"), "a=bcé");
  });

  it("base64 single part", async () => {
    const body = Buffer.from("diff --git a/x b/x\nhello é\n").toString("base64");
    const m = await parseMessage(
      buildTestMail(
        [
          ["Message-ID", "<b64@x>"],
          ["Content-Type", "text/plain; charset=utf-8"],
          ["Content-Transfer-Encoding", "base64"],
        ],
        `${body}\n`,
      ),
    );
    assert.equal(m.body, "diff --git a/x b/x\nhello é\n");
  });

  it("CRLF mail keeps CRs in the body and parses headers", async () => {
    const raw = buildTestMail([["Message-ID", "<crlf@x>"], ["Subject", "[PATCH] crlf"]], "line1\nline2\n", "\r\n");
    const m = await parseMessage(raw);
    assert.equal(m.messageId, "crlf@x");
    assert.equal(m.subject, "[PATCH] crlf");
    assert.equal(m.body, "line1\r\nline2\r\n");
  });

  it("8bit iso-8859-1 (LKP) and unknown charsets do not throw", async () => {
    const lkp = await parseMessage(
      readFixture("mail", "lkp", "lkp-netperf-regression.TRUNCATED-first-16000-of-39584-chars.eml"),
    );
    assert.match(lkp.body, /kernel test robot noticed a -1.2% regression/);
    const alpine = await parseMessage(readFixture("mail", "public-inbox", "x-unknown-alpine.eml"));
    assert.equal(typeof alpine.body, "string");
    const unk = await parseMessage(
      buildTestMail(
        [
          ["Message-ID", "<u@x>"],
          ["Content-Type", "text/plain; charset=x-unknown"],
          ["Content-Transfer-Encoding", "8bit"],
        ],
        "héllo\n",
      ),
    );
    assert.equal(unk.body, "héllo\n");
    assert.ok(unk.problems.some((p) => p.includes("unknown charset")));
    const jp = await parseMessage(readFixture("mail", "public-inbox", "iso-2202-jp.eml"));
    assert.equal(typeof jp.body, "string");
  });

  it("multipart: text part via postal-mime; HTML-only is flagged", async () => {
    const bot = await parseMessage(readFixture("mail", "bpf-fionread-copied-seq", "v4-2-3-reply-bot-bpf-ci.eml"));
    assert.match(bot.body, /CI run summary/);
    const html = await parseMessage(
      buildTestMail([["Message-ID", "<h@x>"], ["Content-Type", "text/html; charset=utf-8"]], "<p>hi</p>\n"),
    );
    assert.equal(html.htmlOnly, true);
    const alt = await parseMessage(
      buildTestMail(
        [
          ["Message-ID", "<alt@x>"],
          ["MIME-Version", "1.0"],
          ["Content-Type", 'multipart/alternative; boundary="BB"'],
        ],
        "--BB\nContent-Type: text/html\n\n<p>only html</p>\n--BB--\n",
      ),
    );
    assert.equal(alt.htmlOnly, true);
  });

  it("the raw bytes are never rewritten", async () => {
    const bytes = readFileSync(join(FIXTURES, "mail", "apply-6.1", "delack-1.eml"));
    const copy = Buffer.from(bytes);
    const m = await parseMessage(bytes);
    assert.equal(Buffer.compare(Buffer.from(m.raw), copy), 0);
  });
});
