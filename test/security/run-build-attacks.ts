import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildSchema } from "../../src/config/schema.ts";
import { exec } from "../../src/lib/exec.ts";
import { git } from "../../src/lib/git.ts";
import { BuildFailure, buildKernel } from "../../src/runner/build/build-kernel.ts";
import type { AttackRow } from "./format-attack-table.ts";
import { type HostileHost, sandboxUnavailable, withHostileHost } from "./hostile-host.ts";
import { hostileProbeScript, readProbeLines } from "./hostile-probe.ts";
import { probeAttack, skippedAttack } from "./probe-attack.ts";
import { commonProbeRows, skippedRows } from "./probe-verdicts.ts";

const WHO = "tree Makefile (make of a series)";
const WRITES: [string, string] = [
  `${WHO} writes outside the worktree: ccache, mirror, artifacts`,
  "read-only; the shared ccache unchanged (no planted objects)",
];
const LINGER: [string, string] = [`${WHO} leaves a process running after the build`, "killed with the sandbox (own pid namespace)"];
const LIMITS: [string, string] = [`${WHO} allocates 5 GiB and fills the disk`, "RLIMIT_AS refuses; build stopped at sandboxLimits.diskMB"];
const DISK_MB = 8;

/** A scratch "kernel tree" whose every make target is `recipe` (tab-indented shell lines). */
function hostileTree(h: HostileHost, name: string, files: Record<string, string>, recipe: string[]): string {
  const tree = join(h.config.paths.workDir, "worktrees", name);
  mkdirSync(tree, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(tree, f), text);
  writeFileSync(join(tree, "Makefile"), `Makefile: ;\n%:\n${recipe.map((l) => `\t${l}\n`).join("")}`);
  return tree;
}

/** buildKernel of a series (label candidate: the ccache read-only) on `tree`; the failure it ends with. */
async function buildAsSeries(h: HostileHost, tree: string, ccacheDir: string, mirror: string): Promise<{ log: string; failure: BuildFailure | null }> {
  const config = buildSchema.parse({ baseConfig: "tinyconfig", selftestsConfig: false, timeoutSec: 120 });
  const artifactsDir = join(h.config.paths.workDir, "artifacts", "flow-sec-make");
  try {
    const b = await buildKernel({ treeDir: tree, commit: "c0ffee", label: "candidate", config, artifactsDir, ccacheDir, ccacheWrite: false, sandbox: h.sandbox, mirrorRepo: mirror });
    return { log: readFileSync(b.logPath, "utf8"), failure: null };
  } catch (e) {
    if (!(e instanceof BuildFailure)) throw e;
    return { log: readFileSync(e.build.logPath, "utf8"), failure: e };
  }
}

/**
 * A series' Makefile, run by the build stage's buildKernel in the runner's
 * real sandbox: the hostile probe as the first make step, a shared ccache
 * that base builds filled (one entry planted by the test as the sandbox
 * user), the tree's mirror, a process left behind; then a second tree that
 * allocates 5 GiB and writes past the disk budget.
 */
export async function runBuildAttacks(): Promise<AttackRow[]> {
  const why = sandboxUnavailable();
  if (why) return [...skippedRows(WHO, WRITES, why), skippedAttack(...LINGER, why), skippedAttack(...LIMITS, why)];
  return withHostileHost(
    async (h) => {
      const work = h.config.paths.workDir;
      const ccacheDir = join(work, "cache", "ccache");
      mkdirSync(join(ccacheDir, "a"), { recursive: true });
      writeFileSync(join(ccacheDir, "a", "entry"), "an object from a base build\n");
      await exec(["chown", "-R", `${h.sandboxUser.uid}:${h.sandboxUser.gid}`, ccacheDir]);
      const mirror = join(work, "mirrors", "t.git");
      await git(["init", "-q", "--bare", mirror]);
      const mirrorHead = readFileSync(join(mirror, "HEAD"), "utf8");
      const late = join(work, "worktrees", "sec-make", "late");
      const writes = [join(ccacheDir, "a", "entry"), join(ccacheDir, "planted"), join(mirror, "HEAD"), join(work, "artifacts", "flow-sec-make", "bzImage-candidate"), "in-tree"];
      const tree = hostileTree(h, "sec-make", { "probe.pl": hostileProbeScript(h.targets(writes, { file: late, sec: 3 }), "lines") }, ["@perl probe.pl", "@exit 2"]);
      const ccache = (await exec(["ccache", "--version"], { okCodes: "any" }).catch(() => ({ code: 1 }))).code === 0;
      const run = await buildAsSeries(h, tree, ccacheDir, mirror);
      await sleep(4000);
      const seen = readProbeLines(run.log);
      const [first, ...rest] = await commonProbeRows(WHO, seen, h, `make: ${run.failure?.message ?? "no failure"}`);

      const big = hostileTree(h, "sec-make-big", {}, [
        `@perl -e 'my $$x = "x" x (5 * 1024 ** 3); print "PBPROBE:ALLOC: 5 GiB\\n"' || echo "PBPROBE:DENIED_ALLOC: perl exit $$?"`,
        `@head -c ${(DISK_MB + 4) * 1024 * 1024} /dev/zero > big.bin && echo "PBPROBE:WROTE: ${DISK_MB + 4} MiB"`,
      ]);
      const limits = await buildAsSeries(h, big, ccacheDir, mirror);

      return [
        first!,
        await probeAttack(WRITES[0], WRITES[1], () => {
          assert.ok(seen.has("UID"), "the probe did not run");
          assert.equal(readFileSync(join(ccacheDir, "a", "entry"), "utf8"), "an object from a base build\n", "a ccache entry was overwritten");
          for (const p of [join(ccacheDir, "planted"), join(h.dataDir, "pwned"), h.hostFile, "/etc/pb-sec-pwned", join(work, "artifacts", "flow-sec-make", "bzImage-candidate")]) {
            assert.equal(existsSync(p), false, `${p} on the host`);
          }
          assert.equal(readFileSync(join(mirror, "HEAD"), "utf8"), mirrorHead, "the mirror changed");
          const denied = seen.get("DENIED_WRITE") ?? [];
          const refused = (p: string) => denied.some((m) => m.startsWith(`${p}: Read-only file system`));
          assert.ok(refused(join(mirror, "HEAD")), "the mirror was not read-only");
          assert.ok(refused("/etc/pb-sec-pwned"), "a write to /etc was not refused");
          if (ccache) assert.ok(refused(join(ccacheDir, "a", "entry")), "the ccache was not read-only for a series' build");
          assert.ok(existsSync(join(tree, "in-tree")), "the worktree was not writable (the build could not have run)");
          const short = (m: string) => m.replace(work, "<work>").replace(h.dir, "…").replace(/: Read-only file system$/, "");
          return `read-only: ${denied.filter((m) => /Read-only/.test(m)).map(short).join(", ")}${ccache ? "" : " (ccache not installed: cache not bound, hidden)"}; ccache entry unchanged; only in-tree written on the host`;
        }),
        ...rest,
        await probeAttack(LINGER[0], LINGER[1], () => {
          assert.ok(seen.has("FORKED"), "the probe did not fork");
          assert.equal(existsSync(late), false, "a process of the build wrote after the build ended");
          return `forked pid ${(seen.get("FORKED") ?? [])[0]} (setsid, 3 s sleep); 4 s after the build: no trace of it`;
        }),
        await probeAttack(LIMITS[0], LIMITS[1], () => {
          const got = readProbeLines(limits.log);
          assert.equal(got.has("ALLOC"), false, "5 GiB were allocated");
          assert.ok(got.has("DENIED_ALLOC"), `the allocation was not tried: ${limits.log.slice(-300)}`);
          assert.equal(limits.failure?.kind, "no-space", `build ended ${limits.failure?.kind ?? "ok"}: ${limits.failure?.message}`);
          return `${got.get("DENIED_ALLOC")}; build stopped: ${limits.failure!.message.replace(work, "<work>").slice(0, 150)}`;
        }),
      ];
    },
    { sandboxDiskMB: DISK_MB },
  );
}
