import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { git } from "../../src/lib/git.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { stageJobSchema } from "../../src/queue/payloads.ts";
import { applySeries } from "../../src/runner/apply/apply-series.ts";
import { flowRef } from "../../src/runner/apply/flow-ref.ts";
import type { AttackRow } from "./format-attack-table.ts";
import { probeAttack } from "./probe-attack.ts";

/**
 * Hostile series through the runner's apply stage (applySeries: real git
 * mirror, worktree, git am): bases outside upstream, and patches that try
 * to leave the tree, write into .git, add submodules, binaries or symlinks.
 * Each patch is real `git format-patch` output, edited where git itself
 * would refuse to commit the path (the way an attacker would edit it).
 */
export async function runPatchAttacks(): Promise<AttackRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "pb-sec-patch-"));
  const up = join(dir, "upstream");
  const workDir = join(dir, "work");
  const deps = { git, log: silentLogger(), workDir, runner: "security", fetchIntervalMs: 0 };
  const g = async (repo: string, ...args: string[]) => (await git(args, { repo })).stdout.trim();
  let n = 0;
  /** A patch on upstream's tip made by `change` in a scratch clone. */
  const makePatch = async (subject: string, change: (work: string) => void | Promise<void>, stage = true) => {
    const work = join(dir, `p${++n}`);
    await git(["clone", "-q", up, work]);
    await change(work);
    if (stage) await g(work, "add", "-A");
    await g(work, "commit", "-q", "-m", `${subject}\n\nSigned-off-by: patchbench <patchbench@localhost>`);
    const mail = (await git(["format-patch", "--stdout", "-1", "HEAD"], { repo: work })).stdout;
    return { mail, head: await g(work, "rev-parse", "HEAD") };
  };
  const job = (mails: string[], extra: Record<string, unknown> = {}) =>
    stageJobSchema.parse({
      flowId: `flow-sec-${++n}`,
      seriesId: "s",
      stage: "apply",
      tree: { name: "t", url: "unused", path: up, branch: "master", allowBinary: false, allowSymlinks: false },
      baseCommit: null,
      patches: mails.map((m, i) => ({ index: i + 1, subject: `p${i + 1}`, rawBase64: Buffer.from(m, "latin1").toString("base64") })),
      suites: [],
      bench: {},
      checks: ["signed-off-by"],
      ...extra,
    });
  const mirror = join(workDir, "mirrors", "t.git");
  /** The defence every refused patch must show: refused before git ran, nothing applied, no flow ref. */
  const refused = async (mail: string, reason: RegExp, noSideEffect: string[] = []) => {
    const j = job([mail]);
    const r = await applySeries(j, deps);
    assert.equal(r.status, "fail", r.summary);
    assert.match(r.summary, /refused before apply/);
    assert.match(r.data.rejected.map((x) => x.reason).join("; "), reason);
    assert.equal(r.data.applied, 0);
    if (existsSync(mirror)) assert.equal(await g(mirror, "rev-parse", "--verify", "-q", flowRef(j.flowId)).catch(() => ""), "", "no flow ref");
    for (const p of noSideEffect) assert.equal(existsSync(p), false, `${p} exists`);
    return r.summary;
  };

  try {
    await git(["init", "-q", "-b", "master", up]);
    mkdirSync(join(up, "net"));
    writeFileSync(join(up, "net", "a.c"), "int a;\n");
    symlinkSync("a.c", join(up, "net", "link.c"));
    await g(up, "add", "-A");
    await g(up, "commit", "-q", "-m", "base");
    const tip = await g(up, "rev-parse", "HEAD");
    const newFile = await makePatch("net: add new.c", (w) => writeFileSync(join(w, "net", "new.c"), "#!/bin/sh\ntouch /tmp/pb-sec-hook\n"));
    /** The new-file patch with its path replaced everywhere (diff --git, ---/+++ lines). */
    const withPath = (path: string) => newFile.mail.replaceAll("a/net/new.c", `a/${path}`).replaceAll("b/net/new.c", `b/${path}`);
    const rows: AttackRow[] = [];

    rows.push(
      await probeAttack("base-commit: a flow ref (an earlier series' head)", "falls through to upstream; report notes say so", async () => {
        const a = await applySeries(job([newFile.mail]), deps);
        assert.equal(a.status, "pass", a.summary);
        assert.ok(a.data.head);
        const b = await makePatch("net: touch a", (w) => writeFileSync(join(w, "net", "a.c"), "int a = 1;\n"));
        const r = await applySeries(job([b.mail], { baseCommit: a.data.head }), deps);
        assert.equal(r.data.baseCommit, tip, "the base is upstream's tip, not the flow's head");
        const note = r.data.baseNotes.find((x) => x.includes(a.data.head!.slice(0, 12)));
        assert.match(note ?? "", /is not in the upstream history of master/);
        return `base ${tip.slice(0, 12)} (${r.data.baseRule}); note: "${note}"`;
      }),
    );
    rows.push(
      await probeAttack("base-commit: a commit only in the sender's clone", "falls through to upstream; report notes say so", async () => {
        // A commit of the sender's that is never applied anywhere (an applied one could come back as the same commit).
        const foreign = await makePatch("net: private base", (w) => writeFileSync(join(w, "net", "private.c"), "int p;\n"));
        const b = await makePatch("net: touch a again", (w) => writeFileSync(join(w, "net", "a.c"), "int a = 2;\n"));
        const r = await applySeries(job([b.mail], { baseCommit: foreign.head }), deps);
        assert.equal(r.data.baseCommit, tip);
        const note = r.data.baseNotes.find((x) => x.includes(foreign.head.slice(0, 12)));
        assert.match(note ?? "", /is not in t\b/);
        return `base ${tip.slice(0, 12)} (${r.data.baseRule}); note: "${note}"`;
      }),
    );
    const outside = join(dir, "outside.c");
    rows.push(
      await probeAttack("patch path traversal (../)", "refused before apply; nothing written outside", () =>
        refused(withPath(`../../../../../../..${outside}`), /leaves the tree/, [outside]),
      ),
    );
    const abs = join(dir, "absolute.c");
    rows.push(
      await probeAttack("patch with an absolute path", "refused before apply; nothing written", () =>
        refused(newFile.mail.replaceAll("b/net/new.c", abs).replaceAll("a/net/new.c", abs), /absolute|leaves the tree/, [abs]),
      ),
    );
    rows.push(
      await probeAttack("patch writing into .git (hooks)", "refused before apply; no hook planted", () =>
        refused(withPath(".git/hooks/post-applypatch"), /into \.git/, [join(mirror, "hooks", "post-applypatch"), "/tmp/pb-sec-hook"]),
      ),
    );
    rows.push(
      await probeAttack("patch adding a submodule (160000)", "refused before apply", async () => {
        // Staged by hand: `git add -A` would drop a gitlink that has no checkout.
        const gitlink = (w: string) => git(["update-index", "--add", "--cacheinfo", `160000,${tip},vendor/sub`], { repo: w }).then(() => undefined);
        const sub = await makePatch("vendor: add a submodule", gitlink, false);
        assert.match(sub.mail, /^new file mode 160000$/m);
        return refused(sub.mail, /submodule/);
      }),
    );
    rows.push(
      await probeAttack("binary hunk (allowBinary: false)", "refused before apply", async () => {
        const bin = await makePatch("fw: add a blob", (w) => writeFileSync(join(w, "net", "fw.bin"), Buffer.from([0, 1, 2, 0, 255, 0, 7])));
        assert.match(bin.mail, /GIT binary patch/);
        return refused(bin.mail, /binary/);
      }),
    );
    rows.push(
      await probeAttack("symlink creation (to /etc/shadow)", "refused before apply", async () => {
        const link = await makePatch("net: add a link", (w) => symlinkSync("/etc/shadow", join(w, "net", "shadow.c")));
        assert.match(link.mail, /^new file mode 120000$/m);
        return refused(link.mail, /symlink/);
      }),
    );
    rows.push(
      await probeAttack("symlink retargeting (an existing link to /root)", "refused before apply", async () => {
        const link = await makePatch("net: retarget link", (w) => {
          unlinkSync(join(w, "net", "link.c"));
          symlinkSync("/root", join(w, "net", "link.c"));
        });
        assert.match(link.mail, /^index [0-9a-f]+\.\.[0-9a-f]+ 120000$/m);
        return refused(link.mail, /symlink/);
      }),
    );
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
