import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { FIXTURES } from "../../../test/helpers/fixtures.ts";
import { buildPatchMail } from "./build-test-mail.ts";
import { groupSeries } from "./group-series.ts";
import { parseMessage } from "./parse-message.ts";
import { parseTrailerAddress } from "./parse-trailer-address.ts";
import { readMailbox } from "./read-mailbox.ts";
import { writeMboxrd } from "./write-mboxrd.ts";

/**
 * The same mailboxes through b4's own Python (LoreMailbox, as b4's tests use
 * it) and through groupSeries: the newest version's mails, what b4 carried
 * from the previous version, the follow-up trailers per patch and the ones b4
 * refused must agree. Runs where b4 is installed (Debian's b4 package, which
 * `npm test` installs), and skips otherwise.
 */
const DUMP = `
import sys, json, b4
b4.can_network = False
with open(sys.argv[1], "rb") as fh:
    msgs = b4.split_and_dedupe_pi_results(fh.read())
box = b4.LoreMailbox()
for m in msgs:
    box.add_message(m)
s = box.get_series()
out = {"revision": s.revision, "complete": bool(s.complete), "patches": [], "mismatches": []}
for i, p in enumerate(s.patches):
    if p is None:
        continue
    carried = p.reroll_from_revision if i > 0 and p.reroll_from_revision and p.reroll_from_revision != s.revision else None
    out["patches"].append({"index": i, "messageId": p.msgid, "carriedFrom": carried,
                           "trailers": sorted({f"{t.name}: {t.value}" for t in p.followup_trailers})})
for (name, value, _, email) in sorted(s.trailer_mismatches):
    out["mismatches"].append(f"{name}: {value} / {email}")
print(json.dumps(out))
`;

interface View {
  revision: number;
  complete: boolean;
  patches: { index: number; messageId: string; carriedFrom: number | null; trailers: string[] }[];
  mismatches: string[];
}

/** The Python b4 is installed for, from its script's #! line: the first python3 on PATH may be another (pyenv's). */
function b4Python(): string {
  const script = (process.env.PATH ?? "").split(":").find((d) => d !== "" && existsSync(join(d, "b4")));
  const bang = script === undefined ? null : /^#!\s*(\S*python\S*)/.exec(readFileSync(join(script, "b4"), "utf8").slice(0, 200));
  return bang?.[1] ?? "python3";
}
const PY = b4Python();
const python = spawnSync(PY, ["-c", "import b4"], { encoding: "utf8" });
const skip = python.status === 0 ? false : `b4 is not installed (${PY} -c 'import b4' fails)`;
/**
 * Pythons with the CVE-2023-27043 fix (Debian 12's 3.11.2 among them) parse
 * strictly: `Name <a@b<mailto:a@b>>` then has no address and b4 refuses it.
 * We read the address without the mail client's junk and attach it, as b4
 * does on other Pythons and as its own htmljunk test expects.
 */
const strictPython =
  spawnSync(PY, ["-c", "import inspect, email.utils, sys; sys.exit(0 if 'strict' in inspect.signature(email.utils.parseaddr).parameters else 1)"]).status === 0;

function b4View(mbox: string): View {
  const r = spawnSync(PY, ["-c", DUMP, mbox], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const v = JSON.parse(r.stdout) as View;
  // b4 keeps HTML mail junk in the value; extractTrailers drops it.
  const clean = (l: string): string => l.replace(/<mailto:[^>]*>/gi, "");
  return { ...v, patches: v.patches.map((p) => ({ ...p, trailers: [...new Set(p.trailers.map(clean))].sort() })) };
}

async function ourView(mbox: string): Promise<View> {
  const parsed = [];
  for (const m of readMailbox(mbox).messages) parsed.push(await parseMessage(m.raw));
  const { series } = groupSeries(parsed, { now: Date.parse("2030-01-01T00:00:00Z") });
  // b4 lists the trailers it refused anywhere in the thread, whichever version they answer.
  const refused = new Set(series.flatMap((x) => (x.unattributedTrailers ?? []).map((t) => `${t.line} / ${/<([^>]*)>\s*$/.exec(t.from)?.[1] ?? t.from}`)));
  const top = Math.max(...series.map((s) => s.version));
  const s = series.find((x) => x.version === top && x.kind === "patch");
  assert.ok(s, "no series");
  const trailers = (i: number) => [...new Set(s.trailers.filter((t) => t.patch === i).map((t) => t.line))].sort();
  const patches = [
    ...(s.cover ? [{ index: 0, messageId: s.cover.messageId, carriedFrom: null, trailers: trailers(0) }] : []),
    ...s.patches.map((p) => ({ index: p.index, messageId: p.messageId, carriedFrom: p.carriedFrom ?? null, trailers: trailers(p.index) })),
  ];
  return { revision: s.version, complete: s.complete, patches, mismatches: [...refused].sort() };
}

describe("groupSeries agrees with b4", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-b4-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fixtures = readdirSync(join(FIXTURES, "mail", "b4")).filter((f) => f.endsWith(".mbox"));
  for (const f of fixtures) {
    it(`b4 fixture ${f}`, async () => {
      const mbox = join(FIXTURES, "mail", "b4", f);
      const ours = await ourView(mbox);
      const theirs = b4View(mbox);
      if (strictPython && f === "trailers-followup-htmljunk.mbox") {
        const junk = "Reviewed-by: HTML Junker <html-junker@example.com<mailto:html-junker@example.com>> / html-junker@example.com";
        assert.deepEqual(theirs.mismatches, [junk]);
        assert.deepEqual(ours.patches[0]?.trailers, ["Reviewed-by: HTML Junker <html-junker@example.com>"]);
        return;
      }
      assert.deepEqual(ours, theirs);
    });
  }

  it("a re-roll of a re-roll with reviews on the carried mails", async () => {
    const date = (d: number) => `${["Tue", "Wed", "Thu"][d]}, ${10 + d} Jun 2025 10:00:00 +0000`;
    // Each patch its own diff: b4 also moves trailers between patches with the same git patch-id.
    const body = (file: string, line: string) =>
      `Commit message.\n\nSigned-off-by: Dev Eloper <dev@example.com>\n---\n ${file} | 2 +-\n\ndiff --git a/${file} b/${file}\nindex 1111111..2222222 100644\n--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n-old\n+${line}\n-- \n2.39.5\n`;
    const mails = [
      buildPatchMail({ id: "v2-0@x", subject: "[PATCH v2 0/3] thing", date: date(0), body: "Cover.\n\n---\n 1 file changed, 1 insertion(+)\n" }),
      ...[1, 2, 3].map((i) =>
        buildPatchMail({ id: `v2-${i}@x`, subject: `[PATCH v2 ${i}/3] part ${i}`, date: date(0), inReplyTo: "v2-0@x", body: body(`f${i}.c`, "v2") }),
      ),
      buildPatchMail({ id: "r0@x", subject: "Re: [PATCH v2 0/3] thing", from: "Rev <rev@example.org>", inReplyTo: "v2-0@x", body: "Acked-by: Rev <rev@example.org>\n" }),
      buildPatchMail({ id: "r1@x", subject: "Re: [PATCH v2 1/3] part 1", from: "Rev <rev@example.org>", inReplyTo: "v2-1@x", body: "Reviewed-by: Rev <rev@example.org>\n" }),
      buildPatchMail({ id: "r3@x", subject: "Re: [PATCH v2 3/3] part 3", from: "Mallory <m@example.org>", inReplyTo: "v2-3@x", body: "Reviewed-by: Rev <rev@example.org>\n" }),
      buildPatchMail({ id: "v3-2@x", subject: "[PATCH v3 2/3] part 2", date: date(1), inReplyTo: "v2-2@x", body: body("f2.c", "v3") }),
      buildPatchMail({ id: "v4-3@x", subject: "[PATCH v4 3/3] part 3", date: date(2), inReplyTo: "v2-3@x", body: body("f3.c", "v4") }),
    ];
    const mbox = join(dir, "reroll.mbox");
    writeFileSync(mbox, writeMboxrd(mails));
    const ours = await ourView(mbox);
    assert.deepEqual(
      ours.patches.map((p) => [p.messageId, p.carriedFrom]),
      [
        ["v2-0@x", null],
        ["v2-1@x", 3],
        ["v3-2@x", 3],
        ["v4-3@x", null],
      ],
    );
    assert.deepEqual(ours, b4View(mbox));
  });
});

const PARSEADDR = "import sys, json, inspect, email.utils as u\nstrict = 'strict' in inspect.signature(u.parseaddr).parameters\nprint(json.dumps([u.parseaddr(v, strict=False) if strict else u.parseaddr(v) for v in json.load(sys.stdin)]))";

/** Python's lenient parseaddr on `values` (the strict one of patched Pythons refuses more: see strictPython). */
function pythonParseaddr(values: string[]): [string, string][] {
  const r = spawnSync("python3", ["-c", PARSEADDR], { input: JSON.stringify(values), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as [string, string][];
}

describe("parseTrailerAddress agrees with Python's lenient parseaddr", { skip: spawnSync("python3", ["--version"]).error ? "no python3" : false }, () => {
  it("on every follow-up trailer value of the b4 fixtures and some harder ones", () => {
    const values = new Set([
      'Dr. J. R. "Bob" Dobbs <bob@sub.example.org>',
      "Name (c (nested)) <a@b.c>",
      "a@b.c, Other <d@e.f>",
      "Name: x <a@b.c>",
      "Name;x <a@b.c>",
      "Foo Bar foo@bar.com",
    ]);
    for (const f of readdirSync(join(FIXTURES, "mail", "b4"))) {
      for (const m of readMailbox(join(FIXTURES, "mail", "b4", f)).messages) {
        const text = Buffer.from(m.raw).toString("utf8");
        for (const line of text.split("\n")) {
          const t = /^[A-Za-z-]+-by: (.*\S)\s*$/.exec(line);
          if (t?.[1]) values.add(t[1]);
        }
      }
    }
    const list = [...values];
    const expected = pythonParseaddr(list);
    assert.deepEqual(
      list.map((v) => [v, ...Object.values((({ name, address }) => ({ name, address }))(parseTrailerAddress(v)))]),
      list.map((v, i) => [v, ...(expected[i] ?? [])]),
    );
  });

  it("on 2,000 made-up values built from the pieces names and addresses are made of", () => {
    const pieces = ["\\", "@", "<@r.s:", '"x y"', "(c)", "\t", "Jane", "Doe", "jane@example.com", "<", ">", "(", ")", "[corp]", ",", '"', "J.", "a.b@c.d", " ", " ", "ACME", ";", ":"];
    let seed = 11;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const list: string[] = [];
    for (let i = 0; i < 2000; i++) {
      let v = "";
      for (let n = 1 + Math.floor(rand() * 7); n > 0; n--) v += (pieces[Math.floor(rand() * pieces.length)] ?? "") + (rand() < 0.5 ? " " : "");
      list.push(v.trim());
    }
    const expected = pythonParseaddr(list);
    const differ = list.filter((v, i) => {
      const ours = parseTrailerAddress(v);
      return ours.name !== expected[i]?.[0] || ours.address !== expected[i]?.[1];
    });
    assert.deepEqual(differ, []);
  });
});
