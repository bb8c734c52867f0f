import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BUNDLE, ensureBundle } from "../../scripts/build.mjs";
import { EMBEDDED_CONFIG_DIR } from "../../src/config/load-config.ts";
import { createScratchSeries, type ScratchSeries } from "../../src/demo/scratch-series.ts";
import { assembleMailbox } from "../../src/ingest/mail/assemble-mailbox.ts";
import { readMailbox } from "../../src/ingest/mail/read-mailbox.ts";
import { fixturePath } from "../helpers/fixtures.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { runCli } from "../helpers/run-cli.ts";

/** What a new user meets in the first hour: unsent series, bad configs, bad flags, input that is not a series. */
describe("patchbench CLI: the first hour", () => {
  let dir: string;
  let redis: TestRedis;
  let unsent: ScratchSeries;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-first-"));
    redis = await startTestRedis();
    unsent = await createScratchSeries(join(dir, "unsent"), { thread: false });
  });
  after(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("git format-patch without --thread: assembled with stable synthetic ids, marked; list mail without one stays quarantined", async () => {
    assert.doesNotMatch(readFileSync(unsent.mboxPath, "latin1"), /^message-id:/im, "real format-patch output without ids");
    for (const input of [unsent.mboxPath, unsent.seriesDir]) {
      const a = await runCli(["series", input, "--json"]);
      assert.equal(a.code, 0, a.stderr);
      const out = JSON.parse(a.stdout);
      assert.equal(out.series.length, 1);
      const [s] = out.series;
      assert.equal(s.syntheticMessageIds, true);
      assert.equal(s.complete, true);
      assert.deepEqual(s.patches.map((p: { index: number }) => p.index), [1, 2]);
      assert.match(s.cover.messageId, /^synthetic-[0-9a-f]{24}@patchbench\.invalid$/);
      assert.deepEqual(out.quarantined, []);
      const b = await runCli(["series", input, "--json"]);
      assert.deepEqual(JSON.parse(b.stdout).series[0].patches, s.patches, "the same bytes give the same ids");
    }
    // The same mails from a list or source (no synthesis): quarantined as before.
    const box = await assembleMailbox(readMailbox(unsent.mboxPath).messages.map((m) => m.raw));
    assert.equal(box.series.length, 0);
    assert.equal(box.quarantined.length, 3);
    assert.ok(box.quarantined.every((q) => /missing Message-ID/.test(q.reason)));
  });

  test("several paths (what `000*.patch` expands to, in any order) are read together as one series", async () => {
    const files = readdirSync(unsent.seriesDir).sort().map((f) => join(unsent.seriesDir, f));
    assert.equal(files.length, 3, "cover letter and two patches");
    const folder = JSON.parse((await runCli(["series", unsent.seriesDir, "--json"])).stdout).series[0];
    const r = await runCli(["series", ...files.reverse(), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.series.length, 1);
    assert.deepEqual(out.series[0].patches, folder.patches, "the same series as from the folder");
    const missing = await runCli(["series", files[0]!, join(dir, "nope.patch")]);
    assert.equal(missing.code, 65);
    assert.match(missing.stderr, /nope\.patch: no such file or directory/);
  });

  test("review of an unsent series: applies from the format-patch files, the report is kept, never mailed", async () => {
    const r = await runCli(["--data-dir", join(dir, "unsent-data"), "--redis-url", redis.url, "review", unsent.seriesDir, "--tree-path", unsent.treeDir, "--stages", "apply", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const [o] = JSON.parse(r.stdout);
    assert.equal(o.status, "pass");
    assert.deepEqual(o.tree, { name: "bpf-next", origin: unsent.treeDir, branch: "master" });
    assert.deepEqual(o.mail, { action: "hold", reasons: ["the series was never posted (synthetic Message-IDs): no thread to answer"] });
    assert.match(r.stderr, /no Message-IDs: synthetic ids/);
  });

  test("review of an unsent series without --base, its commits already on the tree's branch: based where its preimages are", async () => {
    const gitEnv = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };
    const tree = join(dir, "own-tree");
    execFileSync("git", ["clone", "-q", "--branch", "busy-poll", unsent.treeDir, tree], { env: gitEnv });
    execFileSync("git", ["branch", "-q", "-f", "-M", "master"], { cwd: tree, env: gitEnv });
    const out = join(dir, "no-base");
    execFileSync("git", ["format-patch", "-q", "--cover-letter", "-o", out, "HEAD~2"], { cwd: tree, env: gitEnv });
    const r = await runCli(["--data-dir", join(dir, "no-base-data"), "--redis-url", redis.url, "review", out, "--tree-path", tree, "--stages", "apply"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Base: +bpf-next [0-9a-f]{12} \(preimage blobs\)$/m);
    assert.match(r.stdout, /a series not sent yet: based where its preimage blobs are/);
    assert.match(r.stdout, /^Apply: +PASS - applied 2\/2 patches/m);
  });

  test("a git send-email --dry-run log: the patches it names are read", async () => {
    const log = join(dir, "dry-run.log");
    const files = readdirSync(unsent.seriesDir).sort().map((f) => join(unsent.seriesDir, f));
    const out = execFileSync("git", ["send-email", "--dry-run", "--confirm=never", "--suppress-cc=all", "--to", "bpf@vger.kernel.org", ...files], {
      cwd: unsent.treeDir,
      encoding: "utf8",
      env: { ...process.env, GIT_AUTHOR_NAME: "Ada Hacker", GIT_AUTHOR_EMAIL: "ada@example.org", GIT_COMMITTER_NAME: "Ada Hacker", GIT_COMMITTER_EMAIL: "ada@example.org" },
    });
    assert.match(out, /Dry-OK\. Log says:/);
    writeFileSync(log, out);
    const r = await runCli(["series", log, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const [s] = JSON.parse(r.stdout).series;
    assert.equal(s.total, 2);
    assert.equal(s.complete, true);
  });

  test("series --json names the tree a review would use (defaultTree when the subject has no tag)", async () => {
    const mbox = readFileSync(unsent.mboxPath, "latin1").replaceAll("[PATCH bpf-next ", "[PATCH ");
    const p = join(dir, "untagged.mbox");
    writeFileSync(p, mbox, "latin1");
    const r = await runCli(["series", p, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).series[0].tree, "bpf-next");
  });

  test("config errors: exit 78, file:line:col, did you mean, one line from other commands", async () => {
    const bad = join(dir, "bad-config");
    cpSync(EMBEDDED_CONFIG_DIR, bad, { recursive: true });
    writeFileSync(join(bad, "patchbench.yaml"), "logLevel: info\nredsi:\n  url: redis://127.0.0.1:1\nmail:\n  dryrun: true\n");
    writeFileSync(join(bad, "trees", "bpf-next.yaml"), "name: bpf-next\nurl: x\nbench:\n  sizes: [1, 64\n");
    const r = await runCli(["--config", bad, "config", "check"]);
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /patchbench\.yaml:2:1: unknown key "redsi" \(did you mean "redis"\?\)/);
    assert.match(r.stderr, /patchbench\.yaml:5:3: mail: unknown key "dryrun" \(did you mean "dryRun"\?\)/);
    assert.match(r.stderr, /trees\/bpf-next\.yaml:\d+:\d+: YAML: /);
    const rv = await runCli(["--config", bad, "--redis-url", redis.url, "review", unsent.mboxPath]);
    assert.equal(rv.code, 78);
    assert.equal(rv.stderr.trimEnd().split("\n").length, 1, rv.stderr);
    assert.match(rv.stderr, /^patchbench: invalid configuration: .*patchbench\.yaml:2:1: unknown key "redsi"/);
    const missing = await runCli(["--config", join(dir, "no-such-config"), "series", unsent.mboxPath]);
    assert.equal(missing.code, 78, missing.stderr);
    assert.match(missing.stderr, /no-such-config: config folder does not exist/);
  });

  test("bench with several bad flags names every reason", async () => {
    const r = await runCli(["bench", "--design", "AABB", "--rounds", "x", "--topologies", "moon", "--warmup", "sometimes", "--variant", "busy_read=50"]);
    assert.equal(r.code, 65, r.stderr);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    for (const why of [/--design must be ABBA or ABAB/, /--rounds expects a whole number/, /unknown topology "moon"/, /--warmup must be all, first or none/, /--variant is needed exactly twice/]) {
      assert.match(r.stderr, why);
    }
    assert.match(r.stderr, /5 problems: /);
  });

  test("not a series: says what it saw, exits 65; review stores what it quarantined where quarantine list looks", async () => {
    const reply = join(dir, "lore-copy.eml");
    writeFileSync(
      reply,
      "From: Bob Reviewer <bob@example.org>\nTo: bpf@vger.kernel.org\nSubject: Re: [PATCH bpf-next 1/2] bpf: allow SO_BUSY_POLL in bpf_setsockopt()\nDate: Fri, 12 Jun 2026 02:00:00 +0000\nMessage-ID: <reply-1@example.org>\nIn-Reply-To: <patch-1@example.org>\n\n> Let sockops programs set a per-socket busy-poll budget\n\nLooks good to me.\n",
    );
    const s = await runCli(["series", reply]);
    assert.equal(s.code, 65);
    assert.match(s.stderr, /1 mail, a reply, no patch series: is this a web page copy\? Download the raw message or the thread's mbox from lore/);
    // A lore page saved from the browser.
    const page = join(dir, "lore-page.html");
    writeFileSync(page, "<!DOCTYPE html><html><head><title>[PATCH bpf-next 1/2] bpf: allow SO_BUSY_POLL</title></head><body><pre>diff --git a/x b/x</pre></body></html>\n");
    const p = await runCli(["series", page]);
    assert.equal(p.code, 65);
    assert.match(p.stderr, /lore-page\.html: a web page \(HTML\), not mail \(download the raw message \(…\/raw\) or the thread's mbox/);
    // A lore page selected in the browser and pasted into a file (real copy: navigation line, headers, body).
    const copied = await runCli(["series", fixturePath("mail", "seed-00-cover.html-view.excerpt.txt")]);
    assert.equal(copied.code, 65);
    assert.match(copied.stderr, /: text copied from a lore web page \("help \/ color \/ mirror \/ Atom feed"\), not mail \(download the raw message/);
    const data = join(dir, "q-data");
    // A patch saved from a web mailer as HTML only: nothing git am could use.
    const html = join(dir, "html-only.eml");
    writeFileSync(
      html,
      "From: Ada Hacker <ada@example.org>\nTo: bpf@vger.kernel.org\nSubject: [PATCH bpf-next] bpf: allow SO_BUSY_POLL in bpf_setsockopt()\nDate: Fri, 12 Jun 2026 01:14:52 +0000\nMessage-ID: <html-1@example.org>\nMIME-Version: 1.0\nContent-Type: text/html; charset=UTF-8\n\n<html><body><pre>--- a/net/core/filter.c\n+++ b/net/core/filter.c</pre></body></html>\n",
    );
    const rv = await runCli(["--data-dir", data, "--redis-url", redis.url, "review", html]);
    assert.equal(rv.code, 65, rv.stderr);
    assert.match(rv.stderr, /1 mail, 1 quarantined \(HTML-only mail: no text\/plain part\), no patch series: .*\(1 quarantined: `patchbench quarantine list`\)/);
    const q = await runCli(["--data-dir", data, "quarantine", "list", "--json"]);
    assert.equal(q.code, 0, q.stderr);
    const rows = JSON.parse(q.stdout);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].message_id, "html-1@example.org");
    assert.equal(rows[0].source, html);
  });

  test("--help loads no heavy package: the bundle's entry and what it imports statically", async () => {
    assert.equal(await ensureBundle(), BUNDLE);
    const seen = new Set<string>();
    const external = new Set<string>();
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      // Static imports only: `import … from "x"` at the start of a line (dynamic import() is lazy).
      for (const m of text.matchAll(/^import\s[^;]*?from\s*"([^"]+)";?$/gms)) {
        const spec = m[1]!;
        if (spec.startsWith(".")) walk(join(dirname(file), spec));
        else external.add(spec);
      }
    };
    walk(BUNDLE);
    assert.ok(existsSync(BUNDLE));
    for (const heavy of ["bullmq", "probot", "kysely", "postal-mime", "ioredis", "better-sqlite3", "nodemailer", "zod", "pino"]) {
      assert.equal(external.has(heavy), false, `${heavy} is imported at start: ${[...external].join(", ")}`);
    }
    assert.ok(external.has("commander"));
  });
});
