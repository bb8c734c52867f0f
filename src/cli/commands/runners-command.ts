import { runnersKey } from "../../queue/job-ids.ts";
import { newRedis } from "../../queue/redis-connection.ts";
import { formatRunners } from "../../runner/registry/format-runners.ts";
import { runnerRows } from "../../runner/registry/runner-record.ts";
import { connectQueueRedis, type GlobalFlags, loadConfigFromFlags, loggerFor } from "../context.ts";

/** `patchbench runners [--json]`: the runner agents registered on this Redis, their machines and jobs. */
export async function runnersCommand(flags: GlobalFlags, opts: { json?: boolean }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const log = loggerFor(config);
  const target = await connectQueueRedis(config, log);
  const client = newRedis({ ...target.options, maxRetriesPerRequest: 2 });
  try {
    const { rows, unreadable } = runnerRows(await client.hgetall(runnersKey(config.global.redis.prefix)), Date.now());
    if (opts.json) {
      const out = rows.map((r) => ({ ...r.record, state: r.state, seenSecAgo: r.seenSecAgo, jobSec: r.jobSec }));
      process.stdout.write(`${JSON.stringify({ runners: out, unreadable }, null, 2)}\n`);
    } else process.stdout.write(formatRunners(rows, unreadable));
    return 0;
  } finally {
    client.disconnect();
    await target.close();
  }
}
