import type { Series } from "../../src/domain/series.ts";

/** A complete one-patch series by "A <a@x>" (overrides win): what store and report tests round-trip. */
export function onePatchSeries(o: Partial<Series> & Pick<Series, "id" | "title">): Series {
  return {
    source: "mail",
    tree: "bpf-next",
    version: 1,
    rfc: false,
    resend: false,
    total: 1,
    kind: "patch",
    cover: null,
    patches: [{ index: 1, messageId: "p1@x", subject: `[PATCH] ${o.title}`, author: "A <a@x>" }],
    missing: [],
    complete: true,
    baseCommit: null,
    changeId: null,
    trailers: [],
    previousVersion: null,
    author: "A <a@x>",
    date: null,
    ...o,
  };
}
