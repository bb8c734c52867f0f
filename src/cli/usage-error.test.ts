import assert from "node:assert/strict";
import { test } from "node:test";
import { Command } from "commander";
import { helpCommandOf, usageErrorLine } from "./usage-error.ts";

test("a usage error names the real command's help, one line", () => {
  const program = new Command("patchbench");
  const review = program.command("review");
  const check = program.command("config").command("check");
  assert.equal(helpCommandOf(program), "patchbench --help");
  assert.equal(helpCommandOf(review), "patchbench help review");
  assert.equal(helpCommandOf(check), "patchbench config help check");
  assert.equal(usageErrorLine(review, "error: unknown option '--frob'"), "patchbench: unknown option '--frob' (`patchbench help review` lists its options)");
  assert.doesNotMatch(usageErrorLine(program, "error: unknown command 'frob'\n(Did you mean fork?)"), /\n|<command>/);
});
