import assert from "node:assert/strict";
import { test } from "node:test";
import { combineStatus } from "./status.ts";

test("combineStatus: the worst status wins; fail outranks error", () => {
  assert.equal(combineStatus([]), "skip");
  assert.equal(combineStatus(["pass", "skip"]), "pass");
  assert.equal(combineStatus(["pass", "warn"]), "warn");
  assert.equal(combineStatus(["pass", "error", "warn"]), "error");
  assert.equal(combineStatus(["error", "fail"]), "fail");
});
