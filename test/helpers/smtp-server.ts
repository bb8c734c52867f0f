import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import { freePort } from "./redis-server.ts";

const run = promisify(execFile);

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
}

export interface TestSmtpOptions {
  /** Called with every accepted message before the server answers 250 (e.g. hand it to public-inbox). */
  deliver?: (mail: ReceivedMail) => Promise<void>;
  /** Called after `deliver`, before the 250 reply: the moment a sender can die in between. */
  beforeReply?: (mail: ReceivedMail) => Promise<void>;
}

export interface TestSmtp {
  port: number;
  received: ReceivedMail[];
  /** Stop listening (clients get ECONNREFUSED): SMTP "down". */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /** Answer every DATA with a temporary failure (451) while true. */
  tempFail: boolean;
}

/** A real SMTP server (the `smtp-server` package) on a loopback port, no TLS, no auth. */
export async function startTestSmtp(options: TestSmtpOptions = {}): Promise<TestSmtp> {
  const port = await freePort();
  const received: ReceivedMail[] = [];
  let server: SMTPServer | null = null;
  const state: TestSmtp = {
    port,
    received,
    tempFail: false,
    async start() {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ["STARTTLS", "AUTH"],
        logger: false,
        onData(stream, session: SMTPServerSession, callback) {
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => {
            const mail: ReceivedMail = {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              to: session.envelope.rcptTo.map((r) => r.address),
              raw: Buffer.concat(chunks),
            };
            if (state.tempFail) {
              const err = Object.assign(new Error("try again later (test)"), { responseCode: 451 });
              callback(err);
              return;
            }
            (async () => {
              received.push(mail);
              await options.deliver?.(mail);
              await options.beforeReply?.(mail);
            })().then(
              () => callback(),
              (e: unknown) => callback(Object.assign(new Error(String(e)), { responseCode: 451 })),
            );
          });
        },
      });
      server.on("error", () => {});
      await new Promise<void>((resolve, reject) => {
        server!.listen(port, "127.0.0.1", () => resolve());
        server!.once("error", reject);
      });
    },
    async stop() {
      const s = server;
      server = null;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  await state.start();
  return state;
}

export interface TestPublicInbox {
  name: string;
  address: string;
  dir: string;
  /** `public-inbox-mda` with this inbox as ORIGINAL_RECIPIENT; resolves when it is stored (or deduplicated). */
  deliver(raw: Buffer): Promise<void>;
  /** Every message in the v2 epoch 0, oldest first (each git commit holds one file `m`). */
  messages(): Promise<Buffer[]>;
  /** Serve lore's URL shapes over HTTP on a loopback port; returns the base URL of the inbox. */
  startHttpd(): Promise<string>;
  stop(): Promise<void>;
}

/** A real public-inbox v2 inbox in a temp folder (HOME and PI_CONFIG isolated). */
export async function startPublicInbox(name = "bpf", address = "bpf@vger.kernel.org"): Promise<TestPublicInbox> {
  const root = mkdtempSync(join(tmpdir(), "pb-pi-"));
  const home = join(root, "home");
  mkdirSync(home);
  const env = { ...process.env, HOME: home, PI_CONFIG: join(root, "config"), PI_DIR: join(root, "pi") };
  const dir = join(root, name);
  let httpd: ChildProcess | null = null;
  const port = await freePort();
  await run("public-inbox-init", ["-V2", "-L", "medium", name, dir, `http://127.0.0.1:${port}/${name}`, address], { env });
  await run("git", ["config", "-f", env.PI_CONFIG, "publicinboxmda.spamcheck", "none"], { env });
  const gitDir = join(dir, "git", "0.git");
  return {
    name,
    address,
    dir,
    deliver(raw) {
      return new Promise((resolve, reject) => {
        const child = spawn("public-inbox-mda", ["--no-precheck"], {
          env: { ...env, ORIGINAL_RECIPIENT: address },
          stdio: ["pipe", "ignore", "pipe"],
        });
        let err = "";
        child.stderr.on("data", (d: Buffer) => {
          err += d.toString();
        });
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`public-inbox-mda exit ${code}: ${err}`))));
        child.stdin.end(raw);
      });
    },
    async messages() {
      const head = await run("git", ["--git-dir", gitDir, "rev-list", "--reverse", "HEAD"], { env }).catch(() => ({ stdout: "" }));
      const out: Buffer[] = [];
      for (const c of head.stdout.split("\n").filter(Boolean)) {
        const r = await run("git", ["--git-dir", gitDir, "show", `${c}:m`], { env, encoding: "buffer", maxBuffer: 64 << 20 });
        out.push(r.stdout as unknown as Buffer);
      }
      return out;
    },
    async startHttpd() {
      httpd = spawn("public-inbox-httpd", ["-W0", "-l", `http://127.0.0.1:${port}`], { env, stdio: "ignore" });
      const base = `http://127.0.0.1:${port}/${name}`;
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          const r = await fetch(`${base}/`);
          if (r.status === 200) return base;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error("public-inbox-httpd did not start");
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (httpd && httpd.exitCode === null) {
        const h = httpd;
        h.kill("SIGTERM");
        await new Promise((r) => h.once("exit", r));
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
