import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { FIXTURES, readFixture } from "../../../test/helpers/fixtures.ts";
import { buildPatchMail } from "./build-test-mail.ts";
import { readMailbox } from "./read-mailbox.ts";
import { splitMbox } from "./split-mbox.ts";
import { writeMboxrd } from "./write-mboxrd.ts";

const run = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C" };
const tmp = mkdtempSync(join(tmpdir(), "pb-mbox-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("splitMbox / writeMboxrd", () => {
  it("mboxrd: >From lines are quoted on write and unquoted on read (round trip)", () => {
    const tricky = Buffer.from(
      "Message-ID: <t@x>\nSubject: t\n\nFrom the start\n>From once\n>>From twice\nFrom: not a header here\n",
    );
    const raws = [tricky, readFixture("mail", "apply-6.1", "delack-1.eml"), buildPatchMail({ id: "p@x", subject: "[PATCH] p" })];
    const box = writeMboxrd(raws);
    assert.match(box.toString("latin1"), /\n>From the start\n>>From once\n>>>From twice\n/);
    const back = splitMbox(box);
    assert.equal(back.format, "mboxrd");
    assert.equal(back.messages.length, 3);
    back.messages.forEach((m, i) => {
      assert.equal(Buffer.compare(Buffer.from(m.raw), raws[i]!), 0);
    });
  });

  it("a message carrying its own mbox separator (git format-patch) is written once, under ours", () => {
    const body = "From: A <a@x>\nMessage-ID: <f@x>\nSubject: [PATCH] f\n\nFrom the start\n";
    const box = writeMboxrd([Buffer.from(`From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n${body}`)]);
    assert.equal(box.toString("latin1"), `From mboxrd@z Thu Jan  1 00:00:00 1970\n${body.replace("\nFrom the", "\n>From the")}\n`);
  });

  it("git mailsplit --mboxrd reads what writeMboxrd writes, byte for byte", async () => {
    const raws = [
      Buffer.from("Message-ID: <t@x>\nSubject: t\n\n>From q\nFrom the start\n"),
      readFixture("mail", "bpf-sysctl-get-name", "v2", "02-patch.eml"),
    ];
    const file = join(tmp, "rt.mbox");
    writeFileSync(file, writeMboxrd(raws));
    const out = join(tmp, "rt");
    mkdirSync(out);
    await run("git", ["mailsplit", "--mboxrd", "--keep-cr", `-o${out}`, file], { env: GIT_ENV });
    const files = readdirSync(out).sort();
    assert.equal(files.length, 2);
    files.forEach((f, i) => {
      // mailsplit keeps the separator line and the empty line after each message.
      const got = readFileSync(join(out, f)).toString("latin1");
      const body = got.slice(got.indexOf("\n") + 1);
      assert.equal(body, `${raws[i]!.toString("latin1")}\n`);
    });
  });

  it("mboxo is not unquoted; a file without From line is one mail", () => {
    const o = splitMbox(Buffer.from("From a@b Thu Jan  1 00:00:00 1970\nSubject: x\n\n>From x\n\nFrom a@b Thu Jan  1 00:00:01 1970\nSubject: y\n\ny\n"));
    assert.equal(o.format, "mboxo");
    assert.equal(o.messages.length, 2);
    assert.match(Buffer.from(o.messages[0]!.raw).toString(), />From x/);
    const single = splitMbox(Buffer.from("Subject: s\nMessage-ID: <s@x>\n\nbody\n"));
    assert.equal(single.messages.length, 1);
  });

  it("broken From lines and binary garbage give quarantine entries, not exceptions", () => {
    const junk = Buffer.concat([Buffer.from([0, 1, 2, 3, 0xff, 0xfe]), Buffer.from("\n\x00\x00garbage\n")]);
    const g = splitMbox(junk, "junk.mbox");
    assert.equal(g.messages.length, 0);
    assert.match(g.quarantined[0]?.reason ?? "", /not a mail/);
    const broken = splitMbox(
      Buffer.from("From mboxrd@z Thu Jan  1 00:00:00 1970\nSubject: a\n\nbody\n\nFrom broken-line\nmore\n"),
      "b.mbox",
    );
    assert.equal(broken.messages.length, 1);
    assert.match(broken.quarantined[0]?.reason ?? "", /malformed mbox "From " line/);
    const fuzz = readMailbox(join(FIXTURES, "mail", "patchwork", "fuzz-base64err.mbox"));
    assert.equal(fuzz.messages.length, 1);
    assert.match(fuzz.quarantined[0]?.reason ?? "", /malformed/);
  });
});

describe("readMailbox sources", () => {
  it("a directory of fixture folders (recursive .eml/.mbox)", () => {
    const r = readMailbox(join(FIXTURES, "mail", "bpf-sysctl-get-name"));
    assert.equal(r.messages.length, 11);
    assert.deepEqual(r.quarantined, []);
  });

  it("gzip (lore t.mbox.gz), maildir cur/ + new/, single .eml", () => {
    const raws = [readFixture("mail", "apply-6.1", "delack-0-cover.eml"), readFixture("mail", "apply-6.1", "delack-1.eml")];
    const gz = join(tmp, "t.mbox.gz");
    writeFileSync(gz, gzipSync(writeMboxrd(raws)));
    const z = readMailbox(gz);
    assert.equal(z.messages.length, 2);
    assert.equal(Buffer.compare(Buffer.from(z.messages[1]!.raw), raws[1]!), 0);

    const md = join(tmp, "Maildir");
    for (const d of ["cur", "new", "tmp"]) mkdirSync(join(md, d), { recursive: true });
    writeFileSync(join(md, "cur", "1.host:2,S"), raws[0]!);
    writeFileSync(join(md, "new", "2.host"), raws[1]!);
    assert.equal(readMailbox(md).messages.length, 2);

    const one = readMailbox(join(FIXTURES, "mail", "apply-6.1", "delack-2.eml"));
    assert.equal(one.messages.length, 1);
    assert.equal(Buffer.compare(Buffer.from(one.messages[0]!.raw), readFixture("mail", "apply-6.1", "delack-2.eml")), 0);
  });

  it("a broken gzip is quarantined", () => {
    const bad = join(tmp, "bad.mbox.gz");
    writeFileSync(bad, Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    const r = readMailbox(bad);
    assert.equal(r.messages.length, 0);
    assert.match(r.quarantined[0]?.reason ?? "", /broken gzip/);
  });
});
