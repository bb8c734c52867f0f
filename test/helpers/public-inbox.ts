import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exec } from "../../src/lib/exec.ts";
import { GIT_ENV } from "../../src/lib/git.ts";
import { freePort } from "./redis-server.ts";

/**
 * A real public-inbox (Debian's 1.9) for tests: a V2 inbox in a temp dir with
 * HOME and PI_CONFIG isolated there, mails delivered with public-inbox-mda,
 * served by public-inbox-httpd on a free loopback port (lore's URL shapes:
 * /<list>/new.atom, /<list>/<msgid>/raw, /<list>/<msgid>/t.mbox.gz, and the
 * git epochs at /<list>/<N>). Commands as in FACTS.md.
 */
export interface TestInbox {
  /** Base URL of the server, e.g. http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  list: string;
  address: string;
  /** The inbox directory (git/0.git, …). */
  inboxDir: string;
  /** Deliver one raw mail with public-inbox-mda (as the list's MTA would). */
  inject(raw: Uint8Array | string): Promise<void>;
  /** Delete a mail (`public-inbox-learn rm`): the epoch gets a commit holding `d`, not `m`. */
  remove(raw: Uint8Array | string): Promise<void>;
  /**
   * Start epoch N the way a v2 inbox rolls over at ~1 GB (public-inbox's own
   * PublicInbox::MultiGit->add_epoch); later mail goes into it.
   */
  addEpoch(n: number): Promise<void>;
  /** Stop serving (the inbox stays); `startHttpd` serves it again on the same port. */
  stopHttpd(): Promise<void>;
  startHttpd(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForHttp(url: string, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      return;
    } catch {
      if (Date.now() > until) throw new Error(`public-inbox-httpd did not answer at ${url}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function startTestInbox(options: { list?: string } = {}): Promise<TestInbox> {
  const list = options.list ?? "bpf";
  const address = `${list}@vger.kernel.org`;
  const dir = mkdtempSync(join(tmpdir(), "pb-public-inbox-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const inboxDir = join(dir, list);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    PI_CONFIG: join(dir, "pi-config"),
    ...GIT_ENV,
  };
  await exec(["public-inbox-init", "-V2", "-L", "medium", list, inboxDir, `${url}/${list}`, address], { env, timeoutMs: 60_000 });
  await exec(["git", "config", "-f", join(dir, "pi-config"), "publicinboxmda.spamcheck", "none"], { env });
  let httpd: ChildProcess | null = null;

  const startHttpd = async (): Promise<void> => {
    const child = spawn("public-inbox-httpd", ["-W0", "-l", url], {
      env,
      cwd: dir,
      detached: true,
      stdio: ["ignore", "ignore", "ignore"],
    });
    httpd = child;
    await waitForHttp(`${url}/${list}/new.atom`, 20_000);
  };
  const stopHttpd = async (): Promise<void> => {
    const child = httpd;
    httpd = null;
    if (!child || child.pid === undefined || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      /* gone */
    }
    const t = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }, 3000);
    await exited;
    clearTimeout(t);
  };
  try {
    await startHttpd();
  } catch (e) {
    await stopHttpd();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url,
    list,
    address,
    inboxDir,
    async inject(raw) {
      // On stdin, as an MTA pipes it: the bytes go in untouched.
      await exec(["public-inbox-mda", "--no-precheck"], {
        env: { ...env, ORIGINAL_RECIPIENT: address },
        input: typeof raw === "string" ? raw : Buffer.from(raw),
        timeoutMs: 60_000,
      });
    },
    async remove(raw) {
      await exec(["public-inbox-learn", "rm"], {
        env: { ...env, ORIGINAL_RECIPIENT: address },
        input: typeof raw === "string" ? raw : Buffer.from(raw),
        timeoutMs: 60_000,
      });
    },
    async addEpoch(epoch) {
      await exec(["perl", "-MPublicInbox::MultiGit", "-e", 'PublicInbox::MultiGit->new($ARGV[0], "all.git", "git")->add_epoch($ARGV[1])', inboxDir, String(epoch)], {
        env,
        timeoutMs: 30_000,
      });
    },
    stopHttpd,
    startHttpd,
    async stop() {
      await stopHttpd();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
