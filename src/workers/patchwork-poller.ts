import type { SourceConfig } from "../config/schema.ts";
import type { CursorStore, Fetch } from "../ingest/public-inbox/inbox-source.ts";
import { pollPatchworkEvents } from "../ingest/patchwork/poll-patchwork-events.ts";
import { createLogger, type Logger } from "../lib/logger.ts";
import { createPatchworkClient } from "../lib/patchwork-client.ts";
import type { Db } from "../store/open-store.ts";
import { listKnownMailIds, rememberPatchworkMails } from "../store/patchwork-repository.ts";

type PatchworkSource = Extract<SourceConfig, { kind: "patchwork" }>;

/**
 * A `kind: patchwork` source as the mail poller drives it (same batch and
 * cursor contract as the list sources). With a store, patchwork's series
 * and patch ids and patch states are kept by Message-ID (checks are posted
 * on the stored ids; a closed patch keeps its series from being run).
 */
export function createPatchworkPoller(source: PatchworkSource, deps: { label: string; cursors: CursorStore; db?: Db; fetch?: Fetch; env?: NodeJS.ProcessEnv; log?: Logger }) {
  const token = source.tokenEnv ? ((deps.env ?? process.env)[source.tokenEnv] ?? null) : null;
  const client = createPatchworkClient({
    url: source.url,
    token: token || null,
    ...(source.tokenEnv ? { tokenSource: `env ${source.tokenEnv}` } : {}),
    // The service's logger (its level and format); a logger of its own only outside the service.
    log: (deps.log ?? createLogger({ name: "patchwork-source" })).child({ source: deps.label }),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  const { db } = deps;
  const scope = { instance: client.url, project: source.project };
  const facts = db ? { remember: (f: Parameters<typeof rememberPatchworkMails>[2]) => rememberPatchworkMails(db, scope, f), known: (ids: readonly string[]) => listKnownMailIds(db, ids) } : undefined;
  return {
    label: deps.label,
    source,
    collect: () => pollPatchworkEvents({ cursors: deps.cursors, client, ...(facts ? { facts } : {}) }, { project: source.project, closingStates: source.closingStates }),
  };
}
