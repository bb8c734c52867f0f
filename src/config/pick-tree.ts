import type { Series } from "../domain/series.ts";
import { inputError } from "../lib/errors.ts";
import type { TreeConfig } from "./schema.ts";

/** Which configured tree a series targets: its subject tag, else the default. */
export function pickTree(series: Series, trees: readonly TreeConfig[], fallback: string, forced?: string): TreeConfig {
  const name = forced ?? trees.find((t) => series.tree && t.tags.includes(series.tree))?.name ?? fallback;
  const tree = trees.find((t) => t.name === name);
  if (!tree) throw inputError(`tree "${name}" is not configured`, `configured: ${trees.map((t) => t.name).join(", ")}`);
  return tree;
}
