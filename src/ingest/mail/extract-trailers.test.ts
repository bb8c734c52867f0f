import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { extractCommandLines, extractSeriesMarkers, extractTrailers } from "./extract-trailers.ts";

describe("extractTrailers", () => {
  it("takes unquoted trailers, skips quoted ones and the signature", () => {
    const body = [
      "> Signed-off-by: Quoted Person <q@example.com>",
      ">> Reviewed-by: Deep <d@example.com>",
      "",
      "Acked-by: Yonghong Song <yonghong.song@linux.dev>",
      "reviewed-by: lower case <l@example.com>",
      "Tested-by: Tester2, Followup <followup-tester2@example.com>",
      "Reviewed-by: Followup Reviewer1 (corporate) <r@example.com>",
      "Fixes: 37cce22dbd51 (\"bpf: verifier: Refactor helper access type tracking\")",
      "Link: https://lore.kernel.org/x",
      "Closes: https://lore.kernel.org/y",
      "Co-developed-by: Co Dev <co@example.com>",
      "Acked-by: not a person",
      "Subject: not a trailer",
      "-- ",
      "Acked-by: In Signature <sig@example.com>",
    ].join("\n");
    assert.deepEqual(
      extractTrailers(body).map((t) => t.line),
      [
        "Acked-by: Yonghong Song <yonghong.song@linux.dev>",
        "Reviewed-by: lower case <l@example.com>",
        "Tested-by: Tester2, Followup <followup-tester2@example.com>",
        "Reviewed-by: Followup Reviewer1 (corporate) <r@example.com>",
        'Fixes: 37cce22dbd51 ("bpf: verifier: Refactor helper access type tracking")',
        "Link: https://lore.kernel.org/x",
        "Closes: https://lore.kernel.org/y",
        "Co-developed-by: Co Dev <co@example.com>",
      ],
    );
  });

  it("cleans HTML-mail junk around addresses (b4 htmljunk)", () => {
    const t = extractTrailers("Reviewed-by: HTML Junker <html-junker@example.com<mailto:html-junker@example.com>>\n");
    assert.equal(t[0]?.line, "Reviewed-by: HTML Junker <html-junker@example.com>");
  });

  it("CRLF lines", () => {
    assert.equal(extractTrailers("Acked-by: A <a@b>\r\n")[0]?.line, "Acked-by: A <a@b>");
  });
});

describe("extractSeriesMarkers / extractCommandLines", () => {
  it("base-commit and change-id", () => {
    const m = extractSeriesMarkers("x\n---\nbase-commit: f435c12df7c0ecf20ab8937859e63cddffacabb4\nchange-id: 20221025-test1-e8520c2200a3\n");
    assert.deepEqual(m, { baseCommit: "f435c12df7c0ecf20ab8937859e63cddffacabb4", changeId: "20221025-test1-e8520c2200a3" });
    assert.deepEqual(extractSeriesMarkers("nothing"), { baseCommit: null, changeId: null });
  });
  it("/bench lines", () => {
    assert.deepEqual(extractCommandLines("> /bench quoted\n/bench netperf TCP_RR  \n/benchmark no\n"), ["/bench netperf TCP_RR"]);
  });
});
