import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES } from "../../../test/helpers/fixtures.ts";
import { createRng } from "../../domain/create-rng.ts";
import { decodeSimpleMultipart } from "./decode-simple-multipart.ts";
import { decodeMimeByPostalMime, parseMessageHeaders } from "./parse-message.ts";
import { readMailbox } from "./read-mailbox.ts";

const fixtures = readMailbox(join(FIXTURES, "mail")).messages.map((m) => Buffer.from(m.raw));
const multipart = fixtures.filter((raw) => parseMessageHeaders(raw).headers.contentType.mimeType.startsWith("multipart/"));

/** Decode both ways; the direct answer, when there is one, must be postal-mime's. */
async function agree(raw: Buffer, label: string): Promise<boolean> {
  const head = parseMessageHeaders(raw);
  const fast = decodeSimpleMultipart(raw, head.bodyStart);
  if (fast === null) return false;
  const slow = await decodeMimeByPostalMime(raw, []);
  assert.equal(fast.text, slow.text, `${label}: text differs from postal-mime's`);
  assert.equal(fast.htmlOnly, slow.htmlOnly, `${label}: htmlOnly differs`);
  return true;
}

const mail = (headers: string, body: string): Buffer =>
  Buffer.from(`From: A <a@example.org>\nSubject: [PATCH] x\nMessage-ID: <m@x>\nMIME-Version: 1.0\n${headers}\n\n${body}`, "latin1");

const SHAPES: [string, Buffer][] = [
  [
    "mixed: text + text/x-patch attachment",
    mail(
      'Content-Type: multipart/mixed; boundary="b1"',
      "preamble\n--b1\nContent-Type: text/plain; charset=utf-8\n\nHello\n\n--b1\nContent-Type: text/x-patch; name=a.patch\nContent-Disposition: attachment; filename=a.patch\n\ndiff --git a/a b/a\n+x\n--b1--\nepilogue\n",
    ),
  ],
  [
    "alternative inside mixed, qp with soft breaks and escapes",
    mail(
      "Content-Type: multipart/mixed;\n\tboundary=outer",
      "--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\nsoft=\n break =C3=A9 and =3D and =ZZ stays\n--inner\nContent-Type: text/html\n\n<p>x</p>\n--inner--\n--outer\nContent-Type: application/octet-stream\nContent-Disposition: attachment\n\nAAAA\n--outer--\n",
    ),
  ],
  ["CRLF line ends", mail("Content-Type: multipart/mixed; boundary=c", "--c\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\r\n--c--\r\n")],
  ["no terminator", mail("Content-Type: multipart/mixed; boundary=t", "--t\nContent-Type: text/plain\n\nbody without end\n")],
  ["part without headers", mail("Content-Type: multipart/mixed; boundary=n", "--n\n\nno headers at all\n--n--\n")],
  ["boundary with trailing blanks", mail("Content-Type: multipart/mixed; boundary=w", "--w  \t\nContent-Type: text/plain\n\nx\n--w-- \n")],
  ["latin1 charset", mail("Content-Type: multipart/mixed; boundary=l", "--l\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--l--\n")],
  ["inline text/plain marked attachment", mail("Content-Type: multipart/mixed; boundary=a", "--a\nContent-Type: text/plain\n\nfirst\n--a\nContent-Type: text/plain\nContent-Disposition: attachment\n\nsecond\n--a--\n")],
];

describe("decodeSimpleMultipart equals postal-mime wherever it answers", () => {
  it("on the fixture mails: the plain shapes are answered directly (bot mail, Outlook and Gmail alternatives)", async () => {
    let answered = 0;
    for (const [i, raw] of multipart.entries()) if (await agree(raw, `fixture multipart #${i}`)) answered++;
    // The other six are the fixtures' deliberately odd ones: format=flowed, charsets "none" and
    // X-UNKNOWN, a nested message/rfc822, a parenthesised boundary, a mangled header.
    assert.ok(multipart.length >= 11, `fixture multipart mails: ${multipart.length}`);
    assert.ok(answered >= 5, `answered ${answered} of ${multipart.length}`);
  });

  it("on hand-made shapes, each answered", async () => {
    for (const [label, raw] of SHAPES) assert.ok(await agree(raw, label), `${label}: expected a direct answer`);
  });

  it("leaves nested messages, related, signed, base64 text, flowed and HTML-only mail to postal-mime", () => {
    const refused: [string, Buffer][] = [
      ["message/rfc822", mail("Content-Type: multipart/mixed; boundary=r", "--r\nContent-Type: message/rfc822\n\nSubject: x\n\ny\n--r--\n")],
      ["related", mail("Content-Type: multipart/related; boundary=r", "--r\nContent-Type: text/plain\n\nx\n--r--\n")],
      ["signed", mail("Content-Type: multipart/signed; boundary=r", "--r\nContent-Type: text/plain\n\nx\n--r--\n")],
      ["base64 text", mail("Content-Type: multipart/mixed; boundary=r", "--r\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\neA==\n--r--\n")],
      ["flowed", mail("Content-Type: multipart/mixed; boundary=r", "--r\nContent-Type: text/plain; format=flowed\n\nx \ny\n--r--\n")],
      ["html only", mail("Content-Type: multipart/alternative; boundary=r", "--r\nContent-Type: text/html\n\n<b>x</b>\n--r--\n")],
      ["RFC 2231 parameter", mail("Content-Type: multipart/mixed; boundary=r", "--r\nContent-Type: text/plain; charset*=utf-8''x\n\nx\n--r--\n")],
      ["comment in a header", mail("Content-Type: multipart/mixed; boundary=r", "--r\nContent-Type: text/plain (c)\n\nx\n--r--\n")],
    ];
    for (const [label, raw] of refused) assert.equal(decodeSimpleMultipart(raw, parseMessageHeaders(raw).bodyStart), null, label);
  });

  it("on 3,000 seeded mutations of the multipart mails (structure, line ends, bytes, truncation)", async () => {
    const r = createRng(20261125);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)] as T;
    const sources = [...multipart, ...SHAPES.map(([, b]) => b)];
    let answered = 0;
    for (let k = 0; k < 3000; k++) {
      const src = pick(sources);
      let text = src.toString("latin1");
      const kind = Math.floor(r.next() * 9);
      switch (kind) {
        case 0:
          text = text.replace(/\r?\n/g, "\r\n");
          break;
        case 1:
          text = text.slice(0, Math.floor(r.next() * text.length));
          break;
        case 2:
          text = text.replace(/^(--\S+)$/m, `$1${pick([" ", "\t", "x", "--", "-- "])}`);
          break;
        case 3:
          text = text.replace(/^Content-Type: (\S+)/gim, (_m, t: string) => `Content-Type: ${r.next() < 0.5 ? t.toUpperCase() : t}`);
          break;
        case 4:
          text = text.replace(/^Content-(Type|Transfer-Encoding|Disposition):.*\n/im, "");
          break;
        case 5: {
          const b = Buffer.from(text, "latin1");
          for (let i = 0; i < 1 + Math.floor(r.next() * 8); i++) b[Math.floor(r.next() * b.length)] = pick([10, 13, 45, 61, 32, 0xe9, 0x41]);
          text = b.toString("latin1");
          break;
        }
        case 6:
          text = text.replace(/^(--\S+)--\s*$/m, "");
          break;
        case 7:
          text = text.replace(/\n\n/, `\n${pick(["Content-Disposition: attachment", "Content-Transfer-Encoding: quoted-printable", "Content-Type: text/plain; charset=windows-1252"])}\n\n`);
          break;
        default: {
          const lines = text.split("\n");
          const i = Math.floor(r.next() * lines.length);
          lines.splice(i, 0, pick(["", "=", "=4", "=41=", "--", "Content-Type: text/plain", " folded"]));
          text = lines.join("\n");
        }
      }
      if (await agree(Buffer.from(text, "latin1"), `mutation ${k} (kind ${kind})`)) answered++;
    }
    assert.ok(answered > 1000, `mutations answered directly: ${answered}`);
  });
});
