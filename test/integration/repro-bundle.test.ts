/**
 * Real parts: a scratch tree and series (git format-patch), `patchbench review` through the queue
 * on a private Redis, then `patchbench bundle` as a user runs it. The bundle's mbox, applied with
 * plain `git am` at the manifest's base in a fresh clone, gives exactly the author's tree.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createScratchSeries, type ScratchSeries } from "../../src/demo/scratch-series.ts";
import { runCli } from "../helpers/run-cli.ts";

let dir = "";
let s: ScratchSeries;
let flowId = "";
const git = (args: string[], cwd: string) =>
  execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "R", GIT_AUTHOR_EMAIL: "r@x", GIT_COMMITTER_NAME: "R", GIT_COMMITTER_EMAIL: "r@x" } }).trim();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "pb-bundle-"));
  s = await createScratchSeries(join(dir, "scratch"));
  const review = await runCli(["--data-dir", join(dir, "data"), "--redis-url", "private", "review", s.mboxPath, "--tree-path", s.treeDir, "--stages", "apply"]);
  assert.equal(review.code, 0, review.stderr);
  flowId = /report (flow-\S+)/.exec(review.stdout)?.[1] ?? "";
  assert.ok(flowId, review.stdout);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test("a reviewed series' bundle re-applies with plain git am at its base to the author's exact tree", async () => {
  const out = join(dir, "bundle");
  const r = await runCli(["--data-dir", join(dir, "data"), "bundle", flowId, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`${out}: 5 files \\(README\\.txt, manifest\\.json, cover\\.eml, series\\.mbox, results\\.json\\)`));
  assert.deepEqual(readdirSync(out).sort(), ["README.txt", "cover.eml", "manifest.json", "results.json", "series.mbox"]);
  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { base: string; head: string; baseRule: string; flow: { id: string }; series: { messageIds: string[] } };
  assert.equal(manifest.flow.id, flowId);
  assert.equal(manifest.base, s.baseCommit);
  assert.equal(manifest.baseRule, "base-commit trailer");
  assert.equal(manifest.series.messageIds.length, 3);

  const clone = join(dir, "clone");
  git(["clone", "-q", s.treeDir, clone], dir);
  git(["checkout", "-q", manifest.base], clone);
  git(["am", "-q", "--patch-format=mboxrd", join(out, "series.mbox")], clone);
  assert.equal(git(["rev-parse", "HEAD^{tree}"], clone), git(["rev-parse", "busy-poll^{tree}"], s.treeDir));
  assert.equal(git(["rev-list", "--count", `${manifest.base}..HEAD`], clone), "2");
  assert.match(readFileSync(join(out, "README.txt"), "utf8"), new RegExp(`git checkout ${manifest.base}\\n {2}git am --patch-format=mboxrd \\.\\./series\\.mbox\\n`));
});

test("an unknown flow, or a folder that is not empty, is refused with exit 65 and nothing written", async () => {
  const unknown = await runCli(["--data-dir", join(dir, "data"), "bundle", "flow-nope", "--out", join(dir, "nope")]);
  assert.equal(unknown.code, 65);
  assert.match(unknown.stderr, /no flow flow-nope in the store/);
  assert.throws(() => readdirSync(join(dir, "nope")));
  const full = join(dir, "full");
  mkdirSync(full);
  writeFileSync(join(full, "keep.txt"), "mine");
  const busy = await runCli(["--data-dir", join(dir, "data"), "bundle", flowId, "--out", full]);
  assert.equal(busy.code, 65);
  assert.match(busy.stderr, /exists and is not empty/);
  assert.deepEqual(readdirSync(full), ["keep.txt"]);
});
