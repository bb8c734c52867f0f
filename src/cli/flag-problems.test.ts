import assert from "node:assert/strict";
import { test } from "node:test";
import { unknownOptions } from "./flag-problems.ts";

test("unknownOptions: every option the command does not know, once each, in order; values, operands and what follows -- are not options", () => {
  const known = new Set(["--rounds", "-r", "--json"]);
  assert.deepEqual(unknownOptions(["--bogus", "x.mbox", "--rounds", "5", "--zzz=1", "-q", "--bogus", "-r", "3"], known), ["--bogus", "--zzz", "-q"]);
  assert.deepEqual(unknownOptions(["--json", "--", "--not-an-option", "-5"], known), []);
  assert.deepEqual(unknownOptions(["--rounds", "-5"], known), []);
});
