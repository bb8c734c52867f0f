import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAmFailure } from "./parse-am-failure.ts";

test("names the file and hunk of a plain apply failure (real git output, FACTS.md)", () => {
  const out = "Applying: tcp: x\nerror: patch failed: include/trace/events/tcp.h:218\nerror: include/trace/events/tcp.h: patch does not apply\nPatch failed at 0001 tcp: x\nhint: Use 'git am --show-current-patch=diff'\n";
  const r = parseAmFailure(out);
  assert.deepEqual(r.files, ["include/trace/events/tcp.h"]);
  assert.deepEqual(r.hunks, ["include/trace/events/tcp.h:218"]);
  assert.doesNotMatch(r.message, /hint:/);
});

test("names the file of a three-way merge conflict", () => {
  const out = "Applying: bpf: x\nUsing index info to reconstruct a base tree...\nM\tnet/core/filter.c\nFalling back to patching base and 3-way merge...\nAuto-merging net/core/filter.c\nCONFLICT (content): Merge conflict in net/core/filter.c\nerror: Failed to merge in the changes.\n";
  assert.deepEqual(parseAmFailure(out).files, ["net/core/filter.c"]);
});
