import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { FIXTURES } from "../../../test/helpers/fixtures.ts";
import { assembleMailbox } from "./assemble-mailbox.ts";
import { buildPatchMail } from "./build-test-mail.ts";
import { readMailbox } from "./read-mailbox.ts";

const tmp = mkdtempSync(join(tmpdir(), "pb-mailinfo-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

// Isolated from the user's and the system's git config.
const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", HOME: tmp, LC_ALL: "C" };
const GIT_ID = ["-c", "user.name=x", "-c", "user.email=x@example.invalid"];

function git(args: string[], input?: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile("git", [...GIT_ID, ...args], { env: GIT_ENV, maxBuffer: 64 << 20 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
    // git may exit before reading stdin (mailsplit does not read it at all).
    child.stdin?.on("error", () => {});
    child.stdin?.end(input ?? Buffer.alloc(0));
  });
}

let seq = 0;
async function mailinfo(raw: Uint8Array): Promise<{ info: string; msg: string; patch: string }> {
  const dir = join(tmp, `mi-${seq++}`);
  mkdirSync(dir);
  const info = await git(["mailinfo", join(dir, "msg"), join(dir, "patch")], raw);
  return { info, msg: readFileSync(join(dir, "msg"), "utf8"), patch: readFileSync(join(dir, "patch"), "utf8") };
}

/** The original mails of a fixture file, as git itself splits them. */
async function gitSplit(file: string): Promise<Buffer[]> {
  const bytes = readFileSync(file);
  // A file without an mbox `From ` line is one mail (git mailsplit calls it corrupt).
  if (file.endsWith(".eml") || bytes.toString("latin1", 0, 5) !== "From ") return [bytes];
  const out = join(tmp, `split-${seq++}`);
  mkdirSync(out);
  const head = readFileSync(file).toString("latin1", 0, 12);
  await git(["mailsplit", ...(head === "From mboxrd@" ? ["--mboxrd"] : []), "--keep-cr", `-o${out}`, file]);
  return readdirSync(out)
    .sort()
    .map((f) => readFileSync(join(out, f)));
}

function fixtureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...fixtureFiles(p));
    else if (/\.(eml|mbox)$/.test(f)) out.push(p);
  }
  return out;
}

describe("what git gets is the raw mail: byte-identical, and git mailinfo agrees", () => {
  let patchesChecked = 0;
  for (const file of fixtureFiles(join(FIXTURES, "mail"))) {
    it(file.slice(FIXTURES.length + 1), async () => {
      const { messages } = readMailbox(file);
      const result = await assembleMailbox(
        messages.map((m) => m.raw),
        { now: Date.parse("2030-01-01") },
      );
      // git refuses the patchwork fuzz files ("corrupt mailbox"): nothing to compare with there.
      const originals = await gitSplit(file).catch((err: Error) => {
        if (/corrupt mailbox/.test(err.message) && file.includes("/fuzz-")) return null;
        throw err;
      });
      for (const s of result.series) {
        for (const p of s.patches) {
          const raw = result.raw.get(p.messageId);
          assert.ok(raw, `raw for ${p.messageId}`);
          const i = messages.findIndex((m) => m.raw === raw);
          assert.ok(i >= 0, "the raw handed on is the very buffer read from the mailbox");
          assert.equal(Buffer.compare(Buffer.from(raw), Buffer.from(messages[i]!.raw)), 0);
          if (originals === null) continue;
          // Map our message i to git's own split of the same file.
          const original = originals.length === messages.length ? originals[i] : undefined;
          assert.ok(original, `git mailsplit found ${originals.length} mails, we found ${messages.length}`);
          const ours = await mailinfo(raw);
          const theirs = await mailinfo(original);
          assert.equal(ours.patch.trimEnd(), theirs.patch.trimEnd(), `patch of ${p.messageId}`);
          assert.equal(ours.info, theirs.info, `info of ${p.messageId}`);
          assert.equal(ours.msg.trimEnd(), theirs.msg.trimEnd(), `message of ${p.messageId}`);
          patchesChecked++;
        }
      }
    });
  }
  it("checked a real number of patches", () => {
    assert.ok(patchesChecked >= 40, `only ${patchesChecked}`);
  });
});

describe("assembleMailbox", () => {
  it("synthesizes ids for mail without one, not for text whose lines merely have colons", async () => {
    const patch = Buffer.from(
      "From: Ada Hacker <ada@example.org>\nDate: Fri, 12 Jun 2026 01:14:52 +0000\nSubject: [PATCH] net: one\n\nBody.\n\nSigned-off-by: Ada Hacker <ada@example.org>\n---\n f | 1 +\n 1 file changed, 1 insertion(+)\n\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n a\n+b\n",
    );
    const log = Buffer.from("fatal: ../fp/*.patch: outside repository\nusage: git send-email [<options>] <file>\n");
    const r = await assembleMailbox([patch, log], { synthesizeMessageIds: true });
    assert.equal(r.series.length, 1);
    assert.equal(r.series[0]?.syntheticMessageIds, true);
    assert.deepEqual(r.replies, []);
    assert.deepEqual(r.quarantined, [{ messageId: null, reason: "not a mail: no From: or Subject: header" }]);
  });

  it("quarantines an over-size message with its Message-ID and keeps going", async () => {
    const big = Buffer.concat([
      buildPatchMail({ id: "big@x", subject: "[PATCH] big" }),
      Buffer.alloc(50 * 1024 * 1024, 0x61),
    ]);
    const small = buildPatchMail({ id: "small@x", subject: "[PATCH] small" });
    const r = await assembleMailbox([big, small], { maxMessageBytes: 16 * 1024 * 1024 });
    assert.equal(r.series.length, 1);
    assert.equal(r.quarantined[0]?.messageId, "big@x");
    assert.match(r.quarantined[0]?.reason ?? "", /exceeds the 16777216-byte limit/);
    assert.equal(r.raw.has("small@x"), true);
    assert.equal(r.raw.has("big@x"), false);
  });

  it("a reply whose References carry 60,000 ids (a header bomb) groups in linear time", async () => {
    const patch = buildPatchMail({ id: "p1@x", subject: "[PATCH] net: one" });
    const refs = ["p1@x", ...Array.from({ length: 60_000 }, (_, i) => `bomb-${i}@evil.example`)];
    const bomb = buildPatchMail({ id: "bomb@x", subject: "Re: [PATCH] net: one", inReplyTo: "p1@x", references: refs, body: "/bench\n" });
    const t0 = performance.now();
    const r = await assembleMailbox([patch, bomb], { now: 0 });
    const ms = performance.now() - t0;
    assert.equal(r.series.length, 1);
    assert.equal(r.replies.find((x) => x.messageId === "bomb@x")?.seriesId, r.series[0]?.id);
    // The quadratic version took minutes here.
    assert.ok(ms < 10_000, `${Math.round(ms)} ms`);
  });

  it("returns the raw map keyed by id for every series mail and reply", async () => {
    const file = join(FIXTURES, "mail", "bpf-sysctl-get-name");
    const { messages } = readMailbox(file);
    const r = await assembleMailbox(messages.map((m) => m.raw));
    assert.equal(r.raw.size, 11);
    writeFileSync(join(tmp, "out.json"), JSON.stringify({ series: r.series, replies: r.replies, quarantined: r.quarantined }));
  });
});
