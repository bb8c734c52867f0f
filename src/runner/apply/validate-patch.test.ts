import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { git } from "../../lib/git.ts";
import { isDotGit, validatePatch } from "./validate-patch.ts";

const policy = { allowBinary: false, allowSymlinks: false };
const allowLinks = { allowBinary: false, allowSymlinks: true };
const diff = (a: string, b = a) => `Subject: x\n\n---\ndiff --git a/${a} b/${b}\n--- a/${a}\n+++ b/${b}\n@@ -1 +1 @@\n-a\n+b\n`;

test("a plain patch passes and lists its files", () => {
  assert.deepEqual(validatePatch(diff("net/ipv4/tcp.c"), policy), { files: ["net/ipv4/tcp.c"], problems: [] });
});

test("paths outside the tree or into .git are refused", () => {
  assert.match(validatePatch(diff("../etc/passwd"), policy).problems.join(), /leaves the tree/);
  assert.match(validatePatch(diff(".git/hooks/post-applypatch"), policy).problems.join(), /into \.git/);
  assert.match(validatePatch(diff("a/.GIT/config"), policy).problems.join(), /into \.git/);
  assert.match(validatePatch("diff --git a/x b/x\nrename from x\nrename to ../../y\n", policy).problems.join(), /leaves/);
  assert.match(validatePatch("--- /etc/shadow\n+++ /etc/shadow\n", policy).problems.join(), /absolute/);
});

test(".git in the spellings other filesystems read as .git", () => {
  for (const name of [".git", ".GIT", ".Git", ".git.", ".git ", ".git. .", "git~1", "GIT~1", ".g\u200cit", ".git::$INDEX_ALLOCATION"]) {
    assert.equal(isDotGit(Buffer.from(name, "utf8").toString("latin1")), true, JSON.stringify(name));
  }
  for (const name of [".gitignore", ".github", "git", ".git2", "dotgit"]) assert.equal(isDotGit(name), false, name);
  assert.match(validatePatch(diff("tools/.git /hooks/pre-commit"), policy).problems.join(), /into \.git/);
  assert.match(validatePatch(diff("sub/GIT~1/config"), policy).problems.join(), /into \.git/);
  // git quotes unusual names: the quoted form is read, not skipped.
  const quoted = 'diff --git "a/\\056git/hooks/x" "b/\\056git/hooks/x"\n--- "a/\\056git/hooks/x"\n+++ "b/\\056git/hooks/x"\n@@ -1 +1 @@\n-a\n+b\n';
  assert.match(validatePatch(quoted, policy).problems.join(), /into \.git/);
  assert.match(validatePatch('diff --git a/x b/x\nrename from x\nrename to "\\056\\056/y"\n', policy).problems.join(), /leaves/);
  assert.deepEqual(validatePatch(diff(".gitignore"), policy).problems, []);
  assert.deepEqual(validatePatch(diff(".github/workflows/ci.yml"), policy).problems, []);
});

test("a mail without a diff is refused", () => {
  assert.match(validatePatch("Subject: hi\n\njust text\n", policy).problems.join(), /no diff/);
});

/** Real patches, made by git format-patch in a scratch repository. */
describe("validatePatch on real format-patch output", () => {
  let dir: string;
  let repo: string;
  const commit = async (msg: string) => {
    await git(["add", "-A"], { repo });
    await git(["commit", "-q", "-m", msg], { repo });
    return (await git(["format-patch", "--stdout", "-1", "HEAD"], { repo })).stdout;
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-validate-"));
    repo = join(dir, "r");
    mkdirSync(join(repo, "lib"), { recursive: true });
    writeFileSync(join(repo, "lib", "a.c"), "int a;\n");
    writeFileSync(join(repo, "lib", "b.c"), "int b;\n");
    writeFileSync(join(repo, "run.sh"), "echo hi\n");
    symlinkSync("a.c", join(repo, "lib", "link.c"));
    await git(["init", "-q", "-b", "master", repo]);
    await git(["add", "-A"], { repo });
    await git(["commit", "-q", "-m", "base"], { repo });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("retargeting an existing symlink (index a..b 120000)", async () => {
    unlinkSync(join(repo, "lib", "link.c"));
    symlinkSync("/etc/shadow", join(repo, "lib", "link.c"));
    const mail = await commit("retarget");
    assert.match(mail, /^index [0-9a-f]+\.\.[0-9a-f]+ 120000$/m);
    assert.match(validatePatch(mail, policy).problems.join(), /retargets an existing symlink/);
    assert.deepEqual(validatePatch(mail, allowLinks).problems, []);
  });

  test("a symlink replaced by a file (deleted file mode 120000 + new file mode)", async () => {
    unlinkSync(join(repo, "lib", "link.c"));
    writeFileSync(join(repo, "lib", "link.c"), "int c;\n");
    const mail = await commit("type change");
    assert.match(mail, /^deleted file mode 120000$/m);
    assert.match(mail, /^new file mode 100644$/m);
    assert.match(validatePatch(mail, policy).problems.join(), /symlink change/);
  });

  test("a file replaced by a symlink, and a new symlink", async () => {
    rmSync(join(repo, "lib", "b.c"));
    symlinkSync("../../../etc/passwd", join(repo, "lib", "b.c"));
    symlinkSync("/root", join(repo, "lib", "new-link"));
    const mail = await commit("to symlink");
    assert.match(mail, /^new file mode 120000$/m);
    assert.match(validatePatch(mail, policy).problems.join(), /adds a symlink/);
    assert.deepEqual(validatePatch(mail, allowLinks).problems, []);
  });

  test("a mode change is fine; a submodule (160000) never is", async () => {
    chmodSync(join(repo, "run.sh"), 0o755);
    const chmod = await commit("chmod");
    assert.match(chmod, /^new mode 100755$/m);
    assert.deepEqual(validatePatch(chmod, policy).problems, []);
    const head = (await git(["rev-parse", "HEAD"], { repo })).stdout.trim();
    await git(["update-index", "--add", "--cacheinfo", `160000,${head},vendor/sub`], { repo });
    await git(["commit", "-q", "-m", "submodule"], { repo });
    const sub = (await git(["format-patch", "--stdout", "-1", "HEAD"], { repo })).stdout;
    assert.match(sub, /^new file mode 160000$/m);
    assert.match(validatePatch(sub, allowLinks).problems.join(), /submodule/);
    await git(["update-index", "--cacheinfo", `160000,${(await git(["rev-parse", "HEAD"], { repo })).stdout.trim()},vendor/sub`], { repo });
    await git(["commit", "-q", "-m", "bump"], { repo });
    const bump = (await git(["format-patch", "--stdout", "-1", "HEAD"], { repo })).stdout;
    assert.match(bump, /^index [0-9a-f]+\.\.[0-9a-f]+ 160000$/m);
    assert.match(validatePatch(bump, allowLinks).problems.join(), /submodule/);
    await git(["rm", "-q", "--cached", "vendor/sub"], { repo });
    await git(["commit", "-q", "-m", "drop submodule"], { repo });
  });

  test("renames and copies with traversal or .git in from/to", async () => {
    await git(["mv", "lib/a.c", "lib/renamed.c"], { repo });
    const mail = await commit("rename");
    assert.match(mail, /^rename from lib\/a\.c$/m);
    assert.deepEqual(validatePatch(mail, policy).problems, []);
    // git itself will not commit such paths, so the real mail is edited the way an attacker would.
    const out = mail.replace("rename to lib/renamed.c", "rename to ../../etc/cron.d/x");
    assert.match(validatePatch(out, policy).problems.join(), /leaves the tree/);
    const intoGit = mail.replaceAll("lib/renamed.c", ".GIT/hooks/post-checkout");
    assert.match(validatePatch(intoGit, policy).problems.join(), /into \.git/);
    const copy = mail.replace("rename from", "copy from").replace("rename to lib/renamed.c", "copy to ./.git./config");
    assert.match(validatePatch(copy, policy).problems.join(), /into \.git/);
    const traversal = mail.replace("rename from lib/a.c", "rename from lib/../../../etc/passwd");
    assert.match(validatePatch(traversal, policy).problems.join(), /leaves the tree/);
  });
});
