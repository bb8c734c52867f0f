import assert from "node:assert/strict";
import { test } from "node:test";
import { readFixture } from "../../../test/helpers/fixtures.ts";
import { parsePreimages } from "./parse-preimages.ts";

test("preimages of a real series: first appearance of each path wins", () => {
  const mails = [1, 2, 3].map((i) => readFixture("mail", "apply-6.1", `delack-${i}.eml`).toString("latin1"));
  const pre = parsePreimages(mails);
  assert.deepEqual(pre.map((p) => p.path).sort(), ["include/net/sock.h", "include/net/tcp.h", "net/ipv4/tcp.c", "net/ipv4/tcp_output.c"]);
  for (const p of pre) assert.match(p.blob ?? "", /^[0-9a-f]{7,}$/);
  // tcp.h is touched by patches 2 and 3: the preimage is patch 2's.
  const p2 = /diff --git a\/include\/net\/tcp\.h[\s\S]*?\nindex ([0-9a-f]+)\.\./.exec(mails[1]!)?.[1];
  assert.equal(pre.find((p) => p.path === "include/net/tcp.h")?.blob, p2);
});

test("a created file expects no blob", () => {
  const text = "diff --git a/new.c b/new.c\nnew file mode 100644\nindex 0000000..e69de29\n";
  assert.deepEqual(parsePreimages([text]), [{ path: "new.c", blob: null }]);
});
