import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * One JSON object per line over a unix socket, as both the guest agent and
 * QEMU's QMP speak. Incoming objects queue until someone waits for one that
 * matches; a closed socket fails every waiter at once.
 */
export class JsonLineSocket {
  private buf = "";
  private readonly queue: unknown[] = [];
  private waiters: { match: (o: unknown) => boolean; resolve: (o: unknown) => void; reject: (e: Error) => void }[] = [];
  private closedWith: Error | null = null;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => this.onData(chunk));
    const fail = (why: string) => {
      if (this.closedWith) return;
      this.closedWith = new Error(why);
      for (const w of this.waiters) w.reject(this.closedWith);
      this.waiters = [];
    };
    sock.on("error", (e) => fail(`socket error: ${e.message}`));
    sock.on("close", () => fail("the other side closed the connection"));
  }

  /** Connect once the socket file exists (QEMU creates it a moment after starting). */
  static async open(path: string, deadlineMs: number, alive: () => boolean = () => true): Promise<JsonLineSocket> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      if (existsSync(path)) {
        try {
          const sock = await new Promise<Socket>((resolve, reject) => {
            const s = connect(path, () => resolve(s));
            s.once("error", reject);
          });
          return new JsonLineSocket(sock);
        } catch {
          /* not listening yet */
        }
      }
      if (!alive()) throw new Error(`gone before ${path} could be opened`);
      if (Date.now() > until) throw new Error(`no connection to ${path} within ${deadlineMs} ms`);
      await sleep(50);
    }
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    for (let i = this.buf.indexOf("\n"); i >= 0; i = this.buf.indexOf("\n")) {
      const line = this.buf.slice(0, i).trim();
      this.buf = this.buf.slice(i + 1);
      if (line === "") continue;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        continue; // not ours to understand; the waiter's deadline reports silence
      }
      const w = this.waiters.findIndex((x) => x.match(obj));
      if (w >= 0) this.waiters.splice(w, 1)[0]!.resolve(obj);
      else this.queue.push(obj);
    }
  }

  send(obj: unknown): void {
    if (this.closedWith) throw this.closedWith;
    this.sock.write(`${JSON.stringify(obj)}\n`);
  }

  /** The next object matching `match` (queued or still to come), or an error at the deadline. */
  next<T>(match: (o: unknown) => boolean, timeoutMs: number, what: string): Promise<T> {
    const i = this.queue.findIndex(match);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0] as T);
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (o: unknown) => {
          clearTimeout(timer);
          resolve(o as T);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== waiter);
        reject(new Error(`no answer to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  close(): void {
    this.sock.destroy();
  }
}
