import { getTarget } from "../store/github-repository.ts";
import type { Db } from "../store/open-store.ts";

/** Of a pull request's `flows` (oldest first), those on `headSha` (all when null). */
export async function flowsOnHead(db: Db, flows: readonly string[], headSha: string | null): Promise<string[]> {
  if (headSha === null) return [...flows];
  const out: string[] = [];
  for (const flowId of flows) if ((await getTarget(db, flowId))?.headSha === headSha) out.push(flowId);
  return out;
}

/** The head of a pull request's newest flow: the head its earlier flows are compared on before GitHub is asked. */
export async function newestHead(db: Db, flows: readonly string[]): Promise<string | null> {
  const last = flows.at(-1);
  return last ? ((await getTarget(db, last))?.headSha ?? null) : null;
}
