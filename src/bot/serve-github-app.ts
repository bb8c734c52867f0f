import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type FlowProducer, Queue, QueueEvents, Worker } from "bullmq";
import type { RedisOptions } from "ioredis";
import { createNodeMiddleware } from "probot";
import type { Config } from "../config/schema.ts";
import { upsertCheckRun } from "../deliver/github/check-runs.ts";
import { detailsUrlOf } from "../deliver/github/deliver-github.ts";
import type { GithubAppSettings } from "../deliver/github/github-app-settings.ts";
import { createGithubProbot, octokitForProbot } from "../deliver/github/github-client.ts";
import { getTarget, setTarget } from "../store/github-repository.ts";
import { git as defaultGit, type Git } from "../lib/git.ts";
import type { Logger } from "../lib/logger.ts";
import { createBenchLimiter } from "../queue/bench-limiter.ts";
import { createFlowCanceller } from "../queue/cancel-flow.ts";
import { ORCHESTRATOR_QUEUE, poolQueue } from "../queue/queue-names.ts";
import { bullConnection, newRedis } from "../queue/redis-connection.ts";
import type { Db } from "../store/open-store.ts";
import { createGithubApp } from "./create-github-app.ts";
import { GITHUB_QUEUE, type GithubEvent } from "./github-event.ts";
import { createGithubProcessor } from "./github-processor.ts";
import { waitingForStore } from "../workers/wait-for-store.ts";
import { loadFlowStart } from "../workers/load-web-views.ts";
import { createQueueStateReader, flowPools } from "../workers/read-queue-state.ts";
import { githubDeliveryKey, githubEventJobId } from "../queue/job-ids.ts";

export interface GithubAppService {
  /** http://host:port of the webhook server. */
  url: string;
  webhookUrl: string;
  close(): Promise<void>;
}

/** Delivery ids are remembered this long (GitHub redelivers on request, days later). */
const DELIVERY_TTL_SEC = 30 * 24 * 3600;

/**
 * GitHub caps webhook payloads at 25 MB ("Payloads are capped at 25 MB",
 * https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap):
 * a larger body is not GitHub's, and is refused before it is buffered.
 */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

type BodyRead = { ok: true; body: Buffer } | { ok: false; bytes: number; declared: boolean };

/**
 * Read a request body up to `cap` bytes. A Content-Length over the cap is
 * refused unread; a chunked body is counted while it streams and reading
 * stops at the cap (what came so far is dropped).
 */
export function readCappedBody(req: IncomingMessage, cap: number): Promise<BodyRead> {
  const declared = Number(req.headers["content-length"] ?? "NaN");
  if (Number.isFinite(declared) && declared > cap) return Promise.resolve({ ok: false, bytes: declared, declared: true });
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (c: Buffer) => {
      bytes += c.length;
      if (bytes > cap) {
        req.off("data", onData);
        req.pause();
        chunks = [];
        resolve({ ok: false, bytes, declared: false });
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.once("end", () => resolve({ ok: true, body: Buffer.concat(chunks) }));
    req.once("error", reject);
  });
}

/**
 * 413 and close the connection: the rest of the body is never read. The
 * answer goes out at once and the connection a moment later: closing it at
 * once resets a sender still writing its body, and a sender that meets the
 * reset first never sees the 413. Not reading meanwhile holds it back, so
 * nothing more is buffered.
 */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse): void {
  req.pause();
  res.writeHead(413, { "content-type": "text/plain", connection: "close" });
  res.write(`payload over ${MAX_WEBHOOK_BYTES} bytes (GitHub's webhook cap)\n`);
  setTimeout(() => {
    if (!res.destroyed && !req.socket.destroyed) res.end(() => req.socket.destroy());
  }, 1000).unref();
}

/**
 * Serve the GitHub App: a node:http server with Probot's middleware
 * (signature check, 400 on a bad one), a "github" queue the handlers
 * enqueue into, its worker, and a watcher that marks check runs
 * in_progress when a runner picks their flow up.
 */
export async function serveGithubApp(deps: {
  config: Config;
  settings: GithubAppSettings;
  db: Db;
  flows: FlowProducer;
  redis: RedisOptions;
  log: Logger;
  installationId: string;
  git?: Git;
}): Promise<GithubAppService> {
  const { config, log } = deps;
  const gh = config.global.github;
  const prefix = config.global.redis.prefix;
  const connection = bullConnection(deps.redis);
  const probot = createGithubProbot(deps.settings, log);
  const octokitFor = octokitForProbot(probot);
  const redis = newRedis({ ...deps.redis, maxRetriesPerRequest: null });
  const queue = new Queue(GITHUB_QUEUE, { connection, prefix });
  const orchestrator = new Queue(ORCHESTRATOR_QUEUE, { connection, prefix });
  // The acknowledgement's place and start are the queue page's (one estimate, loadFlowStart).
  const queueState = createQueueStateReader({ redis: deps.redis, prefix, pools: flowPools(config) });

  const enqueue = async (event: GithubEvent): Promise<boolean> => {
    // X-GitHub-Delivery is stable across redeliveries: claim it once.
    const claimed = await redis.set(githubDeliveryKey(prefix, event.deliveryId), "1", "EX", DELIVERY_TTL_SEC, "NX");
    if (claimed !== "OK") return false;
    try {
      await queue.add(event.kind, event, {
        jobId: githubEventJobId(event.deliveryId),
        attempts: 5,
        backoff: { type: "exponential", delay: 2000 },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      });
    } catch (e) {
      await redis.del(githubDeliveryKey(prefix, event.deliveryId));
      throw e;
    }
    return true;
  };

  const processor = createGithubProcessor({
    db: deps.db,
    config,
    flows: deps.flows,
    log,
    git: deps.git ?? defaultGit,
    octokitFor,
    installationId: deps.installationId,
    cancelFlow: createFlowCanceller(orchestrator),
    limiter: createBenchLimiter(redis, prefix, gh.bench.rateLimit),
    flowStart: async (flowId) => {
      const state = await queueState.read();
      return state.available ? loadFlowStart(deps.db, state, flowId) : null;
    },
  });
  // One at a time: per-PR state (the one pending /bench) is read-modify-write.
  const worker = new Worker(GITHUB_QUEUE, waitingForStore(log, deps.db, processor), { connection, prefix, concurrency: 1 });
  worker.on("failed", (job, err) => log.warn({ jobId: job?.id, err: err.message }, "github job failed"));
  worker.on("error", (err) => log.error({ err }, "github worker error"));

  // queued → in_progress when a runner takes the first stage of a flow.
  const watchers: QueueEvents[] = [];
  for (const pool of new Set([...config.trees.map((t) => t.pool), ...gh.bench.pools])) {
    const qe = new QueueEvents(poolQueue(pool), { connection, prefix });
    qe.on("active", ({ jobId }) => {
      const flowId = jobId.replace(/-(apply|build|boot|selftests|bench)$/, "");
      void (async () => {
        const t = await getTarget(deps.db, flowId);
        if (t?.state !== "queued") return;
        await setTarget(deps.db, flowId, { ...t, state: "in_progress" });
        if (t.kind !== "check" || t.checkRunId === null) return;
        const octokit = await octokitFor(t.installationId);
        await upsertCheckRun(
          octokit,
          { owner: t.owner, repo: t.repo, headSha: t.headSha, name: gh.checkName, externalId: flowId, detailsUrl: detailsUrlOf(config, flowId) },
          t.checkRunId,
          { status: "in_progress", title: "running", summary: `A runner of pool \`${pool}\` started this flow.` },
        );
      })().catch((e: unknown) => log.warn({ err: e, flowId }, "could not mark the check run in progress"));
    });
    watchers.push(qe);
  }

  const middleware = await createNodeMiddleware(createGithubApp({ enqueue, log }), { probot, webhooksPath: gh.webhookPath });
  const server: Server = createServer((req, res) => {
    const isWebhook = req.method === "POST" && new URL(req.url ?? "/", "http://x").pathname.replace(/\/+$/, "") === gh.webhookPath.replace(/\/+$/, "");
    // Only names and sizes are logged: a payload (or a stranger's body) never reaches the log.
    const about = { deliveryId: String(req.headers["x-github-delivery"] ?? "").slice(0, 100), event: String(req.headers["x-github-event"] ?? "").slice(0, 100) };
    void (async () => {
      if (isWebhook) {
        const read = await readCappedBody(req, MAX_WEBHOOK_BYTES);
        if (!read.ok) {
          log.warn({ ...about, bytes: read.bytes, declared: read.declared }, "webhook body over GitHub's 25 MB cap; refused with 413");
          refuseTooLarge(req, res);
          return;
        }
        log.debug({ ...about, bytes: read.body.length }, "webhook received");
        // @octokit/webhooks takes a string body as the payload instead of reading the stream again.
        (req as IncomingMessage & { body?: string }).body = read.body.toString("utf8");
      }
      await middleware(req, res, () => {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found\n");
      });
    })().catch((e: unknown) => {
      log.error({ ...about, err: e }, "webhook handling failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(gh.port, gh.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(":") ? `[${addr.address}]` : addr.address}:${addr.port}`;
  log.info({ url, webhookPath: gh.webhookPath, baseUrl: gh.baseUrl }, "GitHub app listening");
  return {
    url,
    webhookUrl: `${url}${gh.webhookPath}`,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await worker.close();
      await Promise.all(watchers.map((w) => w.close()));
      await queue.close();
      await orchestrator.close();
      await queueState.close();
      redis.disconnect();
    },
  };
}
