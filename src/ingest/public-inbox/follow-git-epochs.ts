import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PatchbenchError } from "../../lib/errors.ts";
import { type Git, git as defaultGit } from "../../lib/git.ts";
import { fetchConditional } from "./fetch-conditional.ts";
import type { CursorStore, Fetch, InboxBatch, InboxMail } from "./inbox-source.ts";
import { inboxUrls } from "./inbox-urls.ts";

/**
 * Follow a list the way lore asks bots to (https://lore.kernel.org/
 * "mirroring"): mirror-clone each v2 epoch (`/<list>/<N>`, one git repo per
 * epoch), `git fetch` on every poll, walk `OLD..HEAD` oldest first and read
 * each commit's `m` blob (a commit holding `d` is a deletion and is skipped).
 * New epochs are found in `/<list>/manifest.js.gz`. The last commit read per
 * epoch is the cursor: a restart resumes exactly there. All git through lib/git.
 */

export interface GitInboxSource {
  url: string;
  list: string;
  /** Epochs to read from their first commit. Unset: follow the newest epoch from its current head. */
  epochs?: readonly number[] | undefined;
}

export interface PollGitInboxDeps {
  git?: Git;
  fetch?: Fetch;
  cursors: CursorStore;
  /** Where the epoch mirrors live (`<dir>/<N>.git`). */
  mirrorDir: string;
  /** Commits read per poll (the rest on the next poll). Default 2,000. */
  maxCommits?: number;
  timeoutMs?: number;
}

/** Pure: manifest.js.gz JSON → the epoch numbers it lists (`…/git/<N>.git`), ascending. */
export function parseManifest(json: string): number[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new PatchbenchError("input", `manifest.js.gz is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) throw new PatchbenchError("input", "manifest.js.gz is not a JSON object");
  const out = new Set<number>();
  for (const key of Object.keys(data)) {
    const m = /\/git\/(\d{1,6})\.git$/.exec(key);
    if (m) out.add(Number(m[1]));
  }
  return [...out].sort((a, b) => a - b);
}

export interface EpochPlan {
  /** Epoch → read from its first commit (true) or start at its current head (false). */
  follow: { epoch: number; fromStart: boolean }[];
}

/**
 * Pure: which epochs to follow. First poll: the configured epochs from their
 * start, else only the newest listed one from its head (following starts now).
 * Later: the ones followed before, plus any newer epoch, read from its start
 * (an epoch that appears while we follow holds only new mail).
 */
export function planEpochs(listed: readonly number[], followed: readonly number[] | null, configured: readonly number[] | undefined): EpochPlan {
  if (followed === null) {
    if (configured && configured.length > 0) {
      const top = Math.max(...configured);
      const all = [...new Set([...configured, ...listed.filter((n) => n > top)])].sort((a, b) => a - b);
      return { follow: all.map((epoch) => ({ epoch, fromStart: true })) };
    }
    const newest = listed.length > 0 ? Math.max(...listed) : undefined;
    return { follow: newest === undefined ? [] : [{ epoch: newest, fromStart: false }] };
  }
  const top = followed.length > 0 ? Math.max(...followed) : -1;
  const fresh = listed.filter((n) => n > top && !followed.includes(n));
  return {
    follow: [...followed.map((epoch) => ({ epoch, fromStart: true })), ...fresh.map((epoch) => ({ epoch, fromStart: true }))].sort(
      (a, b) => a.epoch - b.epoch,
    ),
  };
}

/** Parse `git cat-file --batch` output: one entry per input line, null for `missing`. */
export function parseCatFileBatch(out: Buffer, expected: number): (Buffer | null)[] {
  const res: (Buffer | null)[] = [];
  let pos = 0;
  while (res.length < expected) {
    const nl = out.indexOf(10, pos);
    if (nl < 0) throw new PatchbenchError("infra", "git cat-file --batch: output ended early");
    const header = out.toString("latin1", pos, nl);
    pos = nl + 1;
    if (header.endsWith(" missing") || header.endsWith(" ambiguous")) {
      res.push(null);
      continue;
    }
    const m = /^[0-9a-f]{40,64} (\w+) (\d+)$/.exec(header);
    if (!m) throw new PatchbenchError("infra", `git cat-file --batch: unexpected line ${JSON.stringify(header.slice(0, 100))}`);
    const size = Number(m[2]);
    res.push(m[1] === "blob" ? out.subarray(pos, pos + size) : null);
    pos += size + 1;
  }
  return res;
}

const SHA = /^[0-9a-f]{40,64}$/;
const BATCH = 200;

export async function pollGitInbox(deps: PollGitInboxDeps, source: GitInboxSource): Promise<InboxBatch> {
  const gitFn = deps.git ?? defaultGit;
  const urls = inboxUrls(source.url, source.list);
  const timeoutMs = deps.timeoutMs ?? 600_000;
  // Only http(s) remotes: the URL is configuration, but git must never run ext:: or file helpers for it.
  const extraEnv = { GIT_ALLOW_PROTOCOL: "http:https" };
  const { cursors } = deps;

  const man = await fetchConditional(deps.fetch ?? fetch, urls.manifest, { timeoutMs: 30_000, goneOk: true });
  let listed: number[] = [];
  if (man.status === "ok") listed = parseManifest(man.body.toString("utf8"));
  else if (!source.epochs?.length) {
    throw new PatchbenchError("infra", `GET ${urls.manifest}: no manifest`, { hint: "set epochs: [N] in the source to follow known epochs" });
  }
  const followedRaw = await cursors.get("epochs");
  const followed = followedRaw === undefined ? null : (JSON.parse(followedRaw) as number[]);
  const plan = planEpochs(listed, followed, source.epochs);

  mkdirSync(deps.mirrorDir, { recursive: true });
  const mails: InboxMail[] = [];
  const newCursors = new Map<string, string>();
  const notes: string[] = [];
  let budget = deps.maxCommits ?? 2000;
  for (const { epoch, fromStart } of plan.follow) {
    const mirror = join(deps.mirrorDir, `${epoch}.git`);
    if (!existsSync(mirror)) {
      const tmp = `${mirror}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      await gitFn(["clone", "--mirror", "--quiet", "--", urls.epoch(epoch), tmp], { timeoutMs, extraEnv });
      renameSync(tmp, mirror);
    } else {
      await gitFn(["fetch", "--quiet", "--prune", "origin"], { repo: mirror, timeoutMs, extraEnv });
    }
    const headR = await gitFn(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], { repo: mirror, okCodes: [0, 1] });
    const head = headR.stdout.trim();
    if (!SHA.test(head)) continue; // an empty epoch
    const key = `epoch-${epoch}`;
    const old = await cursors.get(key);
    if (old === undefined && !fromStart) {
      newCursors.set(key, head);
      notes.push(`epoch ${epoch}: following from ${head.slice(0, 12)}`);
      continue;
    }
    if (old === head) continue;
    let range = [head];
    if (old !== undefined) {
      const known = await gitFn(["cat-file", "-e", `${old}^{commit}`], { repo: mirror, okCodes: [0, 1, 128] });
      // A purge rewrites history; with the old commit gone, re-read the epoch (the store keeps one copy per Message-ID).
      if (known.code === 0) range = [`${old}..${head}`];
      else notes.push(`epoch ${epoch}: cursor ${old.slice(0, 12)} no longer exists; reading the epoch again`);
    }
    const list = await gitFn(["rev-list", "--reverse", ...range, "--"], { repo: mirror, maxOutput: 256 * 1024 * 1024 });
    const commits = list.stdout.split("\n").filter((c) => SHA.test(c));
    if (commits.length === 0) continue;
    const take = commits.slice(0, Math.max(0, budget));
    budget -= take.length;
    let deleted = 0;
    for (let i = 0; i < take.length; i += BATCH) {
      const chunk = take.slice(i, i + BATCH);
      const r = await gitFn(["cat-file", "--batch"], {
        repo: mirror,
        input: chunk.map((c) => `${c}:m\n`).join(""),
        maxOutput: 1024 * 1024 * 1024,
        timeoutMs,
      });
      const blobs = parseCatFileBatch(r.stdoutBytes, chunk.length);
      blobs.forEach((b, j) => {
        // Copy: the batch output buffer must not be pinned by one message.
        if (b) mails.push({ raw: Buffer.from(b), where: `${source.list}/git/${epoch}.git@${chunk[j]}` });
        else deleted++;
      });
    }
    const last = take[take.length - 1];
    if (last !== undefined) newCursors.set(key, last);
    notes.push(
      `epoch ${epoch}: ${take.length} commits${deleted ? ` (${deleted} without m: deletions)` : ""}${take.length < commits.length ? `, ${commits.length - take.length} left for the next poll` : ""}`,
    );
    if (budget <= 0) break;
  }
  const followNow = plan.follow.map((f) => f.epoch);
  return {
    mails,
    note: notes.join("; ") || "no new commits",
    async commit() {
      for (const [k, v] of newCursors) await cursors.set(k, v);
      await cursors.set("epochs", JSON.stringify(followNow));
    },
  };
}
