import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { git } from "../../src/lib/git.ts";
import { type StageJob, stageJobSchema } from "../../src/queue/payloads.ts";

/**
 * The apply job of a one-patch series against the repository `up` (branch master), with the
 * checkpatch check: a clone at `work` commits the patch and formats it as mail. Whatever `up`'s
 * scripts/checkpatch.pl does is what the apply stage runs.
 */
export async function onePatchApplyJob(up: string, work: string, flowId: string): Promise<StageJob> {
  await git(["clone", "-q", up, work]);
  writeFileSync(join(work, "a.c"), "int a = 1;\n");
  await git(["commit", "-q", "-am", "a: one\n\nSigned-off-by: patchbench <patchbench@localhost>"], { repo: work });
  const mail = (await git(["format-patch", "--stdout", "-1", "HEAD"], { repo: work })).stdout;
  return stageJobSchema.parse({
    flowId,
    seriesId: "s",
    stage: "apply",
    tree: { name: "t", url: "unused", path: up, branch: "master", allowBinary: false, allowSymlinks: false },
    baseCommit: null,
    patches: [{ index: 1, subject: "a: one", rawBase64: Buffer.from(mail).toString("base64") }],
    suites: [],
    bench: {},
    checks: ["checkpatch"],
  });
}
