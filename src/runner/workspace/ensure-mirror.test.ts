import assert from "node:assert/strict";
import { test } from "node:test";
import { displayOrigin } from "./ensure-mirror.ts";

test("displayOrigin: a local path as given; a URL without its user or token", () => {
  assert.equal(displayOrigin({ url: "https://x", path: "/srv/linux" }), "/srv/linux");
  assert.equal(displayOrigin({ url: "https://bot:ghp_secret@github.com/o/linux.git", path: null }), "https://github.com/o/linux.git");
  assert.equal(displayOrigin({ url: "https://git.kernel.org/pub/scm/linux/kernel/git/bpf/bpf-next.git", path: null }), "https://git.kernel.org/pub/scm/linux/kernel/git/bpf/bpf-next.git");
  assert.equal(displayOrigin({ url: "/srv/mirror.git", path: null }), "/srv/mirror.git", "not a URL: shown as it is");
});
