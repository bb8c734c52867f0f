import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { CheckContext } from "./check.ts";
import { runChecks } from "./run-checks.ts";

const tree = mkdtempSync(join(tmpdir(), "pb-checks-"));
after(() => rmSync(tree, { recursive: true, force: true }));

const patch = ["From: Ada <ada@example.org>", "Subject: [PATCH] net: x", "", "Signed-off-by: Ada <ada@example.org>", "---", ""].join("\n");
const refuse = () => Promise.reject(new Error("no process may run here"));

test("a check that does not run says why, in the report's words", async () => {
  const ctx: CheckContext = {
    treeDir: tree,
    treeHasHistory: false,
    patches: [{ index: 1, subject: "[PATCH] net: x", raw: Buffer.from(patch) }],
    exec: refuse as unknown as CheckContext["exec"],
    git: refuse as unknown as CheckContext["git"],
    runTreeCode: refuse,
  };
  const byId = new Map((await runChecks(ctx)).map((r) => [r.id, r]));
  assert.deepEqual(
    [byId.get("checkpatch")?.status, byId.get("checkpatch")?.summary],
    ["skip", "the tree has no scripts/checkpatch.pl"],
  );
  assert.deepEqual([byId.get("fixes-tag")?.status, byId.get("fixes-tag")?.summary], ["skip", "no patch has a Fixes: tag"]);
  assert.deepEqual([byId.get("signed-off-by")?.status, byId.get("signed-off-by")?.summary], ["pass", "the patch is signed off by author and sender"]);
  const two = await runChecks({ ...ctx, patches: [...ctx.patches, { index: 2, subject: "[PATCH] net: y", raw: Buffer.from(patch) }] }, ["signed-off-by"]);
  assert.equal(two[0]?.summary, "all 2 patches signed off by author and sender");
});
