import assert from "node:assert/strict";
import { test } from "node:test";
import { validatePatch } from "./validate-patch.ts";

const policy = { allowBinary: false, allowSymlinks: false };
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

test("binary and symlink changes need the tree's permission", () => {
  const bin = "diff --git a/f.bin b/f.bin\nnew file mode 100644\nGIT binary patch\nliteral 3\n";
  assert.match(validatePatch(bin, policy).problems.join(), /binary/);
  assert.deepEqual(validatePatch(bin, { allowBinary: true, allowSymlinks: false }).problems, []);
  const link = "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+/etc/passwd\n";
  assert.match(validatePatch(link, policy).problems.join(), /symlink/);
});

test("a mail without a diff is refused", () => {
  assert.match(validatePatch("Subject: hi\n\njust text\n", policy).problems.join(), /no diff/);
});
