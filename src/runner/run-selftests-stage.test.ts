import assert from "node:assert/strict";
import { test } from "node:test";
import { selftestCounts } from "./run-selftests-stage.ts";

test("selftestCounts: skips are neither passes nor failures", () => {
  const t = (status: "pass" | "skip" | "fail" | "error") => ({ suite: "s", name: "n", status, detail: "", durationMs: 0 });
  assert.equal(selftestCounts([t("pass"), t("pass"), t("skip"), t("skip"), t("skip")]), "2 passed, 3 skipped of 5");
  assert.equal(selftestCounts([t("pass"), t("fail"), t("error")]), "1 passed, 1 failed, 1 could not run of 3");
});
