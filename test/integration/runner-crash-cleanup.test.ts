import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { git } from "../../src/lib/git.ts";
import { killOrphanedJobProcesses, processGroupsDir } from "../../src/lib/job-processes.ts";
import { readProcessTable } from "../../src/lib/process-table.ts";
import { pruneStaleWorktrees } from "../../src/runner/workspace/job-worktree.ts";
import { PROJECT_ROOT } from "../helpers/fixtures.ts";

/**
 * A runner's job in its own node process: a job worktree, and in it a
 * process group (bash and its background sleep, the grandchild) started
 * through lib/exec; then it waits to be killed.
 */
const RUNNER = `
import { exec } from "./src/lib/exec.ts";
import { git } from "./src/lib/git.ts";
import { RunnerProcessRecord, runWithJobProcesses } from "./src/lib/job-processes.ts";
import { withJobWorktree } from "./src/runner/workspace/job-worktree.ts";
const [workDir, repo, commit] = process.argv.slice(1);
const record = new RunnerProcessRecord(workDir);
const job = record.begin("flow-x-build");
await runWithJobProcesses(job, () =>
  withJobWorktree({ git, repo, workDir, key: "flow-x-build", commit }, async (wt) => {
    void exec(["bash", "-c", "sleep 600 & echo $! > grandchild.pid; wait"], { cwd: wt.dir }).catch(() => {});
    console.log(JSON.stringify({ dir: wt.dir }));
    await new Promise(() => {});
  }),
);
`;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "pb-crash-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => readProcessTable().some((p) => p.pid === pid);

test("kill -9 of a runner mid-job: the next runner kills the job's process group, then removes its worktree", async () => {
  const repo = join(dir, "repo.git");
  const src = join(dir, "src");
  await git(["init", "-q", "-b", "main", src]);
  writeFileSync(join(src, "README"), "x\n");
  await git(["add", "README"], { repo: src });
  await git(["commit", "-q", "-m", "init"], { repo: src });
  await git(["clone", "-q", "--bare", src, repo]);
  const commit = (await git(["rev-parse", "HEAD"], { repo })).stdout.trim();
  const workDir = join(dir, "work");

  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", RUNNER, workDir, repo, commit], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const end = Date.now() + 30_000;
  while (!out.includes("\n") && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const { dir: wtDir } = JSON.parse(out.split("\n")[0] ?? "{}") as { dir: string };
  assert.ok(wtDir && existsSync(wtDir), `the job's worktree exists: ${out} ${err}`);
  const pidFile = join(wtDir, "grandchild.pid");
  while (!existsSync(pidFile) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const grandchild = Number(readFileSync(pidFile, "utf8"));
  assert.ok(alive(grandchild), "the grandchild runs");
  const record = JSON.parse(readFileSync(join(processGroupsDir(workDir), `${child.pid}.json`), "utf8")) as { groups: { pgid: number }[] };
  assert.ok(record.groups.length >= 2, "the worktree's git and the bash group are recorded");

  // While the runner lives, nothing of its jobs is touched.
  assert.deepEqual(await killOrphanedJobProcesses(workDir), { runners: [], killed: [] });
  assert.ok(alive(grandchild));

  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  // Its own process group outlived the runner: this is what the cleanup is for.
  assert.ok(alive(grandchild), "the grandchild survived the kill -9");

  const r = await killOrphanedJobProcesses(workDir);
  assert.deepEqual(r.runners, [child.pid]);
  assert.ok(r.killed.includes(grandchild), `killed ${r.killed.join(",")}`);
  assert.equal(alive(grandchild), false, "the grandchild is gone");
  assert.deepEqual(readdirSync(processGroupsDir(workDir)), [], "the dead runner's record is dropped");

  const pruned = await pruneStaleWorktrees({ git, workDir });
  assert.deepEqual(pruned, [wtDir]);
  assert.equal(existsSync(wtDir), false, "the worktree is removed after its processes are gone");
  assert.equal((await git(["worktree", "list", "--porcelain"], { repo })).stdout.includes(wtDir), false);
});
