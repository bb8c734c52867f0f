import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { git } from "../../src/lib/git.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { stageJobSchema } from "../../src/queue/payloads.ts";
import { applySeries, checksStatus } from "../../src/runner/apply/apply-series.ts";
import { flowRef } from "../../src/runner/apply/flow-ref.ts";
import { ensureMirror } from "../../src/runner/workspace/ensure-mirror.ts";
import { pruneStaleWorktrees, withJobWorktree } from "../../src/runner/workspace/job-worktree.ts";
import { parsePreimages } from "../../src/runner/workspace/parse-preimages.ts";
import { selectBase } from "../../src/runner/workspace/select-base.ts";

/** Real git in temp repos: mirror, schedule, worktrees, base rules, apply outcomes. */
describe("runner workspace and apply (real git)", () => {
  let dir: string;
  let up: string;
  const commits: Record<string, string> = {};
  const g = async (repo: string, ...args: string[]) => (await git(args, { repo })).stdout.trim();
  const commitFile = async (name: string, content: string, msg: string) => {
    mkdirSync(join(up, name, ".."), { recursive: true });
    writeFileSync(join(up, name), content);
    await g(up, "add", name);
    await g(up, "commit", "-q", "-m", msg);
    return g(up, "rev-parse", "HEAD");
  };
  /** A patch mail made by git format-patch of a change on top of `from`. */
  const makePatch = async (from: string, file: string, content: string, subject: string, body = "Signed-off-by: patchbench <patchbench@localhost>") => {
    const work = join(dir, `p-${Math.random().toString(36).slice(2)}`);
    await git(["clone", "-q", up, work]);
    await g(work, "checkout", "-q", "--detach", from);
    writeFileSync(join(work, file), content);
    await g(work, "commit", "-q", "-am", `${subject}\n\n${body}`);
    const mail = (await git(["format-patch", "--stdout", "-1", "HEAD"], { repo: work })).stdout;
    rmSync(work, { recursive: true, force: true });
    return mail;
  };
  const job = (patches: string[], extra: Record<string, unknown> = {}) =>
    stageJobSchema.parse({
      flowId: `flow-${Math.random().toString(36).slice(2)}`,
      seriesId: "s1",
      stage: "apply",
      tree: { name: "t", url: "unused", path: up, branch: "master", allowBinary: false, allowSymlinks: false },
      baseCommit: null,
      patches: patches.map((p, i) => ({ index: i + 1, subject: `p${i + 1}`, rawBase64: Buffer.from(p).toString("base64") })),
      suites: [],
      bench: {},
      checks: ["signed-off-by", "fixes-tag"],
      ...extra,
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-ws-"));
    up = join(dir, "upstream");
    await git(["init", "-q", "-b", "master", up]);
    commits.c1 = await commitFile("net/a.c", "one\ntwo\nthree\n", "c1");
    commits.c2 = await commitFile("net/a.c", "one\nTWO\nthree\n", "c2");
    commits.c3 = await commitFile("net/b.c", "b\n", "c3");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("mirror: cloned once, fetched on the schedule, never written to the source", async () => {
    const workDir = join(dir, "w-mirror");
    let now = 1_000_000;
    const m1 = await ensureMirror({ name: "t", url: "unused", path: up }, { git, workDir, fetchIntervalMs: 60_000, now: () => now });
    assert.equal(m1.action, "cloned");
    assert.equal(await g(m1.repo, "rev-parse", "refs/heads/master"), commits.c3);
    const c4 = await commitFile("net/c.c", "c\n", "c4");
    now += 1000;
    assert.equal((await ensureMirror({ name: "t", url: "unused", path: up }, { git, workDir, fetchIntervalMs: 60_000, now: () => now })).action, "fresh");
    assert.equal(await g(m1.repo, "rev-parse", "refs/heads/master"), commits.c3, "not fetched before the interval");
    now += 60_000;
    assert.equal((await ensureMirror({ name: "t", url: "unused", path: up }, { git, workDir, fetchIntervalMs: 60_000, now: () => now })).action, "fetched");
    assert.equal(await g(m1.repo, "rev-parse", "refs/heads/master"), c4);
    await g(up, "reset", "-q", "--hard", commits.c3!);
    assert.equal(await g(up, "worktree", "list", "--porcelain").then((s) => s.split("\n\n").length), 1);
  });

  test("mirror: another runner of the data dir puts the mirror in place (of another origin) while this one clones: this one uses a mirror of its own origin, no error", async () => {
    const workDir = join(dir, "w-mirror-race");
    const other = join(dir, "other-origin");
    await git(["init", "-q", "-b", "master", other]);
    writeFileSync(join(other, "x"), "x\n");
    await g(other, "add", "x");
    await g(other, "commit", "-q", "-m", "other");
    // A second review at once: its clone lands between this clone and its rename.
    const racing: typeof git = async (args, options) => {
      if (args[0] === "config" && args[1] === "gc.auto" && !existsSync(join(workDir, "mirrors", "t.git"))) {
        await git(["clone", "--mirror", "--quiet", "--", other, join(workDir, "mirrors", "t.git")]);
      }
      return git(args, options);
    };
    const m = await ensureMirror({ name: "t", url: "unused", path: up }, { git: racing, workDir });
    assert.notEqual(m.repo, join(workDir, "mirrors", "t.git"), "not the other origin's mirror");
    assert.equal(await g(m.repo, "rev-parse", "refs/heads/master"), await g(up, "rev-parse", "HEAD"));
    assert.match(m.notes[0] ?? "", /its own mirror \(t\.git follows .*other-origin\)/);
    assert.deepEqual(readdirSync(join(workDir, "mirrors")).filter((n) => n.includes(".partial-")), [], "no partial clone left");
  });

  test("base rules: trailer, tip recorded at ingest, runner tip, preimage guess — each says why the others did not apply", async () => {
    const workDir = join(dir, "w-base");
    const { repo } = await ensureMirror({ name: "t", url: "unused", path: up }, { git, workDir });
    const onC1 = await makePatch(commits.c1!, "net/a.c", "one\ntwo\nTHREE\n", "net: three");
    const input = { tree: "t", branch: "master", baseCommit: null, treeTip: null, preimages: parsePreimages([onC1]) };

    const trailer = await selectBase(git, repo, { ...input, baseCommit: commits.c2! });
    assert.deepEqual([trailer.rule, trailer.commit], ["base-commit trailer", commits.c2]);

    const ingest = await selectBase(git, repo, { ...input, baseCommit: "0123456789abcdef0123", treeTip: commits.c2! });
    assert.deepEqual([ingest.rule, ingest.commit, ingest.tipSource], ["tree tip", commits.c2, "ingest"]);
    assert.match(ingest.notes.join("\n"), /base-commit 0123456789ab is not in t/);

    // The tip changed net/a.c after c1: the preimage blob of the patch is only at c1.
    const guess = await selectBase(git, repo, input);
    assert.deepEqual([guess.rule, guess.commit], ["preimage blobs", commits.c1]);
    assert.match(guess.notes.join("\n"), /no base-commit trailer[\s\S]*no tree tip was recorded at ingest[\s\S]*lacks the preimage of net\/a\.c/);

    // Not sent yet: the author's tree tip may hold the series already; the preimage blobs say where it starts.
    const unsent = await selectBase(git, repo, { ...input, treeTip: commits.c3!, unsent: true });
    assert.deepEqual([unsent.rule, unsent.commit], ["preimage blobs", commits.c1]);
    assert.match(unsent.notes.join("\n"), /a series not sent yet: based where its preimage blobs are/);

    const onTip = await makePatch(commits.c3!, "net/b.c", "B\n", "net: b");
    const tip = await selectBase(git, repo, { ...input, preimages: parsePreimages([onTip]) });
    assert.deepEqual([tip.rule, tip.commit, tip.tipSource], ["tree tip", commits.c3, "runner"]);

    const nowhere = parsePreimages([onC1.replace(/^index [0-9a-f]+\.\./m, "index 1234567..")]);
    const fallback = await selectBase(git, repo, { ...input, preimages: nowhere });
    assert.deepEqual([fallback.rule, fallback.commit], ["tree tip", commits.c3]);
    assert.match(fallback.notes.at(-1) ?? "", /no commit in the last 5000 first-parent commits holds every preimage blob/);
  });

  test("apply: clean series keeps a ref; conflict names patch, file, hunk and leaves no worktree; already-applied patch is skipped", async () => {
    const workDir = join(dir, "w-apply");
    const deps = { git, log: silentLogger(), workDir, runner: "test", fetchIntervalMs: 0 };
    const p1 = await makePatch(commits.c3!, "net/b.c", "B\n", "net: b");
    const okJob = job([p1]);
    const ok = await applySeries(okJob, deps);
    assert.equal(ok.status, "pass", ok.summary);
    assert.equal(ok.data.baseRule, "tree tip");
    assert.equal(ok.data.applied, 1);
    const mirror = join(workDir, "mirrors", "t.git");
    assert.equal(await g(mirror, "rev-parse", flowRef(okJob.flowId)), ok.data.head, "applied head kept as a ref");
    assert.deepEqual(readdirSync(join(workDir, "worktrees")), [], "worktree removed");

    const conflicting = await makePatch(commits.c1!, "net/a.c", "one\ntwo\nTHREE\n", "net: three");
    const j = job([conflicting], { baseCommit: commits.c3 });
    const bad = await applySeries(j, deps);
    assert.equal(bad.status, "fail");
    assert.equal(bad.data.failure?.patch, 1);
    assert.deepEqual(bad.data.failure?.files, ["net/a.c"]);
    assert.deepEqual(bad.data.failure?.hunks, ["net/a.c:1"]);
    assert.match(bad.data.failure?.gitMessage ?? "", /patch failed: net\/a\.c:1/);
    assert.deepEqual(readdirSync(join(workDir, "worktrees")), []);
    assert.equal((await g(mirror, "worktree", "list", "--porcelain")).split("\n\n").length, 1, "mirror forgot the worktree");

    // c2 is upstream already: a patch making c2's change again is "already applied".
    const again = await makePatch(commits.c1!, "net/a.c", "one\nTWO\nthree\n", "net: TWO again");
    const two = await applySeries(job([again, p1], { baseCommit: commits.c3 }), deps);
    assert.equal(two.status, "warn", two.summary);
    assert.deepEqual(two.data.alreadyApplied, [{ patch: 1, subject: "p1" }]);
    assert.equal(two.data.applied, 1);
    assert.match(two.summary, /patch 1 already applied upstream, skipped/);
    assert.equal(await g(mirror, "rev-parse", flowRef(j.flowId)).catch(() => "none"), "none", "no ref for a failed apply");
  });

  test("a base-commit naming an earlier flow's head is not upstream: the series does not run that flow's scripts", async () => {
    const workDir = join(dir, "w-flowref");
    const deps = { git, log: silentLogger(), workDir, runner: "test", fetchIntervalMs: 0 };
    const marker = join(dir, `pwned-${process.pid}`);
    // Series A adds a checkpatch.pl that would write a marker; it applies and its head stays as a flow ref.
    const work = join(dir, "attacker");
    await git(["clone", "-q", up, work]);
    mkdirSync(join(work, "scripts"));
    writeFileSync(join(work, "scripts", "checkpatch.pl"), `open(my $f, ">", "${marker}"); print "total: 0 errors, 0 warnings, 1 lines checked\n";\n`);
    await g(work, "add", "scripts/checkpatch.pl");
    await g(work, "commit", "-q", "-m", "scripts: add a checker\n\nSigned-off-by: patchbench <patchbench@localhost>");
    const seriesA = (await git(["format-patch", "--stdout", "-1", "HEAD"], { repo: work })).stdout;
    rmSync(work, { recursive: true, force: true });
    const a = await applySeries(job([seriesA], { checks: ["checkpatch"] }), deps);
    assert.equal(a.status, "pass", a.summary);
    assert.ok(a.data.head);
    assert.equal(existsSync(marker), false, "upstream has no checkpatch.pl: nothing ran for A");

    // Series B names A's head (printed in A's report) as its base.
    const b = await makePatch(commits.c3!, "net/b.c", "B3\n", "net: b3");
    const r = await applySeries(job([b], { baseCommit: a.data.head, checks: ["checkpatch"] }), deps);
    assert.notEqual(r.data.baseCommit, a.data.head);
    assert.equal(r.data.baseCommit, commits.c3);
    assert.match(r.data.baseNotes.join("\n"), new RegExp(`base-commit ${a.data.head!.slice(0, 12)} is not in the upstream history of master`));
    assert.equal(r.data.checks?.[0]?.status, "skip", "the upstream base has no checkpatch.pl");
    assert.equal(existsSync(marker), false, "A's checkpatch.pl never ran");

    // An upstream commit that is not on the branch (a tag elsewhere) still counts as upstream.
    const side = await commitFile("net/side.c", "s\n", "side");
    await g(up, "tag", "side-tag", side);
    await g(up, "reset", "-q", "--hard", commits.c3!);
    const { repo } = await ensureMirror({ name: "t", url: "unused", path: up }, { git, workDir, fetchIntervalMs: 0 });
    const onTag = await selectBase(git, repo, { tree: "t", branch: "master", baseCommit: side, treeTip: null, preimages: [] });
    assert.deepEqual([onTag.rule, onTag.commit], ["base-commit trailer", side]);
    await g(up, "tag", "-d", "side-tag");
  });

  test("checks travel in the apply result: a missing sign-off and a short Fixes: sha", async () => {
    const workDir = join(dir, "w-checks");
    const p = await makePatch(commits.c3!, "net/b.c", "B2\n", "net: b2", 'Fixes: 1234abcd ("c1")');
    const r = await applySeries(job([p]), { git, log: silentLogger(), workDir, runner: "test" });
    assert.equal(r.data.applied, 1);
    assert.equal(r.status, "pass", "the series applied: the stage says so");
    assert.equal(checksStatus(r.data), "fail", "the checks carry their own status");
    assert.ok(r.data.head);
    const byId = new Map(r.data.checks?.map((c) => [c.id, c]));
    assert.deepEqual(byId.get("signed-off-by")?.findings.map((f) => f.code), ["MISSING_AUTHOR_SIGNOFF"]);
    // The tree has history, so the sha is also looked up (and is not there).
    assert.deepEqual(byId.get("fixes-tag")?.findings.map((f) => [f.code, f.severity]), [["FIXES_SHA_SHORT", "error"], ["FIXES_UNKNOWN", "warning"]]);
  });

  test("worktrees: removed when the job throws; a killed runner's worktree is pruned on start", async () => {
    const workDir = join(dir, "w-prune");
    const { repo } = await ensureMirror({ name: "t", url: "unused", path: up }, { git, workDir });
    await assert.rejects(
      withJobWorktree({ git, repo, workDir, key: "boom", commit: commits.c3! }, async (wt) => {
        assert.ok(existsSync(join(wt.dir, "net", "b.c")));
        throw new Error("job died");
      }),
      /job died/,
    );
    assert.deepEqual(readdirSync(join(workDir, "worktrees")), []);
    // A worktree made by a process that no longer exists (a runner killed mid-job).
    const dead = spawnSync("true").pid!;
    const stale = join(workDir, "worktrees", `flow-x-${dead}-abc`);
    await git(["worktree", "add", "--detach", stale, commits.c3!], { repo });
    writeFileSync(`${stale}.patchbench-owner`, JSON.stringify({ pid: dead, repo }));
    const removed = await pruneStaleWorktrees({ git, workDir });
    assert.deepEqual(removed, [stale]);
    assert.equal(existsSync(stale), false);
    assert.equal((await g(repo, "worktree", "list", "--porcelain")).split("\n\n").length, 1);
  });
});
