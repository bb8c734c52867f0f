import type { SourceConfig } from "../config/schema.ts";
import type { CursorStore, Fetch } from "../ingest/public-inbox/inbox-source.ts";
import { pollPatchworkEvents } from "../ingest/patchwork/poll-patchwork-events.ts";
import { createLogger, type Logger } from "../lib/logger.ts";
import { createPatchworkClient } from "../lib/patchwork-client.ts";

type PatchworkSource = Extract<SourceConfig, { kind: "patchwork" }>;

/** A `kind: patchwork` source as the mail poller drives it (same batch and cursor contract as the list sources). */
export function createPatchworkPoller(source: PatchworkSource, deps: { label: string; cursors: CursorStore; fetch?: Fetch; env?: NodeJS.ProcessEnv; log?: Logger }) {
  const token = source.tokenEnv ? ((deps.env ?? process.env)[source.tokenEnv] ?? null) : null;
  const client = createPatchworkClient({
    url: source.url,
    token: token || null,
    ...(source.tokenEnv ? { tokenSource: `env ${source.tokenEnv}` } : {}),
    // The service's logger (its level and format); a logger of its own only outside the service.
    log: (deps.log ?? createLogger({ name: "patchwork-source" })).child({ source: deps.label }),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  return {
    label: deps.label,
    source,
    collect: () => pollPatchworkEvents({ cursors: deps.cursors, client }, { project: source.project }),
  };
}
