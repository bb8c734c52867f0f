import assert from "node:assert/strict";
import { test } from "node:test";
import { recordedTip, sha, tipCells, tipResults } from "../../test/helpers/recorded-tips.ts";
import { checkGolden } from "../../test/integration/mail-fixture-results.ts";
import { buildTreeHistory } from "../history/build-tree-history.ts";
import { parseWebRequest } from "./parse-web-request.ts";
import { renderTreeHistoryPage } from "./render-tree-history-page.ts";
import { treeHistoryViewSchema } from "./tree-history-schema.ts";

const results = tipResults;
const cells = tipCells;
const tip = recordedTip;

test("tree history page: one chart per cell with a point per tip, the numbers in a table beside it, hostile text escaped (golden)", () => {
  const broken = results.filter((r) => r.stage !== "bench").map((r) => (r.stage === "build" ? { ...r, status: "fail" as const, summary: "candidate build failed: <script>alert(1)</script>" } : r));
  const h = buildTreeHistory("bpf-next", [tip(1, sha("a"), sha("a")), tip(2, sha("a"), sha("b")), tip(3, sha("b"), sha("c"), { results: broken, cells: [] }), tip(4, sha("b"), sha("d"))]);
  assert.deepEqual(treeHistoryViewSchema.parse(JSON.parse(JSON.stringify(h))), JSON.parse(JSON.stringify(h)), "the API's schema holds the whole history");
  const page = renderTreeHistoryPage(h);
  assert.equal((page.match(/<svg class="chart history"/g) ?? []).length, cells.length);
  assert.equal((page.match(/<circle class="tip"/g) ?? []).length, cells.length * 3);
  assert.doesNotMatch(page, /<script>/);
  assert.match(page, /candidate build failed: &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  checkGolden("web-tree-history.html", page);
});

test("tree routes: a configured-looking name only; anything else is not a page", () => {
  assert.deepEqual(parseWebRequest("GET", "/trees/bpf-next"), { ok: true, route: { kind: "tree-history", api: false, tree: "bpf-next" }, head: false });
  assert.deepEqual(parseWebRequest("GET", "/api/trees/bpf-next"), { ok: true, route: { kind: "tree-history", api: true, tree: "bpf-next" }, head: false });
  assert.deepEqual(parseWebRequest("GET", "/api/trees"), { ok: true, route: { kind: "trees", api: true }, head: false });
  for (const bad of ["/trees/..", "/trees/a%2Fb", "/trees/a/b", "/trees/a%20b"]) {
    const r = parseWebRequest("GET", bad);
    assert.ok(!r.ok || r.route.kind !== "tree-history", bad);
  }
});
