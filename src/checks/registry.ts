import type { Check } from "./check.ts";
import { checkpatchCheck } from "./checkpatch/index.ts";
import { fixesTagCheck } from "./fixes-tag/index.ts";
import { signedOffByCheck } from "./signed-off-by/index.ts";

/** Every check by id, in the order they run. */
export const CHECKS: ReadonlyMap<string, Check> = new Map([
  [checkpatchCheck.id, checkpatchCheck],
  [signedOffByCheck.id, signedOffByCheck],
  [fixesTagCheck.id, fixesTagCheck],
]);
