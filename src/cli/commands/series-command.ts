import { resolve } from "node:path";
import { pickTree } from "../../config/pick-tree.ts";
import { type GlobalFlags, loadConfigFromFlags } from "../context.ts";
import { describeNonSeries } from "../describe-input.ts";
import { formatSeriesText } from "../format-series-text.ts";
import { readSeriesInput } from "../read-series-input.ts";

/**
 * `patchbench series <path…> [--json]`: the series assembled from all the
 * given paths' mail, nothing run.
 * `tree` is the tree a review would use (its subject tag, else `defaultTree`),
 * so the config is loaded (and a bad one refused, exit 78) as for `review`.
 * A mailbox with no patch series is described on stderr and exits 65.
 */
export async function seriesCommand(paths: readonly string[], flags: GlobalFlags, opts: { json?: boolean }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const box = await readSeriesInput(paths.map((p) => resolve(p)));
  const series = box.series.map((s) => ({ ...s, tree: pickTree(s, config.trees, config.global.defaultTree).name }));
  const out = { series, replies: box.replies, quarantined: box.quarantined };
  const none = !series.some((s) => s.kind === "patch" && s.patches.length > 0);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(formatSeriesText(out));
  }
  if (none) {
    process.stderr.write(`patchbench: ${paths.join(" ")}: ${describeNonSeries(box)}\n`);
    return 65;
  }
  return 0;
}
