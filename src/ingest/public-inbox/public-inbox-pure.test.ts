import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseRetryAfter } from "./fetch-conditional.ts";
import { parseCatFileBatch, parseManifest, planEpochs } from "./follow-git-epochs.ts";
import { encodeMessageId, inboxUrls } from "./inbox-urls.ts";
import { messageIdFromUrl, parseAtomFeed } from "./parse-atom-feed.ts";
import { nextPollDelayMs } from "./poll-backoff.ts";
import { planFeed } from "./poll-http-inbox.ts";

// Shape copied from public-inbox 1.9's new.atom (PublicInbox::WwwAtomStream), one entry trimmed.
const FEED = `<?xml version="1.0" encoding="us-ascii"?>
<feed
xmlns="http://www.w3.org/2005/Atom"
xmlns:thr="http://purl.org/syndication/thread/1.0"><title>public inbox for bpf@vger.kernel.org</title><link
rel="alternate"
type="text/html"
href="http://127.0.0.1:18931/bpf/"/><id>mailto:bpf@vger.kernel.org</id><updated>2025-06-10T16:42:29Z</updated><entry><author><name>Yonghong Song</name><email>yonghong.song@linux.dev</email></author><title>Re: [PATCH v2 1/2] bpf: Specify access type of bpf_sysctl_get_name args</title><updated>2025-06-10T16:42:29Z</updated><link
href="http://127.0.0.1:18931/bpf/f8ecfb2d-c82f-4785-b5dd-eccec0d13f8a@linux.dev/"/><id>urn:uuid:7c975955-203d-aac3-7605-2b7f031b4364</id><thr:in-reply-to
ref="urn:uuid:b4229518-9576-47c5-a7a4-67fd92850f20"
href="http://127.0.0.1:18931/bpf/20250610091933.717824-2-jmarchan@redhat.com/"/><content
type="xhtml"><div
xmlns="http://www.w3.org/1999/xhtml"><pre
style="white-space:pre-wrap">&lt;entry&gt;&lt;link href="http://x/bpf/quoted@evil/"/&gt;
</pre></div></content></entry><entry><author><name>A &amp; B</name></author><title>[PATCH] a &lt;b&gt;</title><updated>2025-06-10T09:22:14Z</updated><link
href="http://127.0.0.1:18931/bpf/a%2Fb%25c@x/"/><id>urn:uuid:1</id><content type="xhtml"><div/></content></entry></feed>`;

describe("parseAtomFeed", () => {
  test("reads ids, titles, dates and parents; quoted markup in content is not an entry", () => {
    const f = parseAtomFeed(FEED);
    assert.deepEqual(f.problems, []);
    assert.deepEqual(f.entries, [
      {
        messageId: "f8ecfb2d-c82f-4785-b5dd-eccec0d13f8a@linux.dev",
        title: "Re: [PATCH v2 1/2] bpf: Specify access type of bpf_sysctl_get_name args",
        updated: "2025-06-10T16:42:29Z",
        inReplyTo: "20250610091933.717824-2-jmarchan@redhat.com",
      },
      { messageId: "a/b%c@x", title: "[PATCH] a <b>", updated: "2025-06-10T09:22:14Z", inReplyTo: null },
    ]);
  });
  test("garbage is reported, not guessed", () => {
    assert.deepEqual(parseAtomFeed("<html>nope</html>"), { entries: [], problems: ["not an Atom feed"] });
    assert.deepEqual(parseAtomFeed("<feed><entry><title>x</title></entry></feed>").problems, ["entry 1: no readable message link"]);
    assert.equal(messageIdFromUrl("http://h/bpf/%E0%A4%A/"), null);
  });
});

describe("inboxUrls", () => {
  test("an untrusted Message-ID stays one path segment", () => {
    const u = inboxUrls("https://lore.kernel.org/", "bpf");
    assert.equal(u.raw("a/../b?c#d%e@x"), "https://lore.kernel.org/bpf/a%2F..%2Fb%3Fc%23d%25e%40x/raw");
    assert.equal(u.thread(".."), "https://lore.kernel.org/bpf/%2E%2E/t.mbox.gz");
    assert.equal(encodeMessageId("."), "%2E");
    assert.equal(u.feed, "https://lore.kernel.org/bpf/new.atom");
    assert.equal(u.epoch(3), "https://lore.kernel.org/bpf/3");
    assert.throws(() => u.epoch(-1));
  });
});

describe("planFeed", () => {
  const e = (id: string) => ({ messageId: id, title: "", updated: null, inReplyTo: null });
  test("first poll is a baseline", () => {
    assert.deepEqual(planFeed([e("b"), e("a")], null), { kind: "baseline", seen: ["b", "a"] });
  });
  test("new entries oldest first; known ones skipped", () => {
    assert.deepEqual(planFeed([e("d"), e("c"), e("b")], ["b", "a"]), { kind: "fetch", raw: ["c", "d"], threads: [], seen: ["d", "c", "b", "a"] });
    assert.deepEqual(planFeed([e("b")], ["b"]), { kind: "unchanged" });
  });
  test("no known entry left: a gap, fetch threads", () => {
    const p = planFeed([e("z"), e("y")], ["b"]);
    assert.equal(p.kind, "fetch");
    assert.deepEqual(p.kind === "fetch" ? p.threads : null, ["y", "z"]);
  });
});

describe("git epochs", () => {
  test("parseManifest reads public-inbox 1.9's manifest (captured from public-inbox-httpd)", () => {
    const json =
      '{"/bpf/git/0.git":{"modified":1749547334,"owner":null,"reference":null,"description":"public inbox for bpf@vger.kernel.org [epoch 0]","fingerprint":"493493d012033b569c90309b818c61719bf50306"},"/bpf/git/1.git":{"owner":null,"modified":1750741191,"reference":null,"description":"public inbox for bpf@vger.kernel.org [epoch 1]","fingerprint":"b5f2da893fff3d171733365dd8ba6d9f9e96111b"}}';
    assert.deepEqual(parseManifest(json), [0, 1]);
    assert.throws(() => parseManifest("[1]"), /not a JSON object/);
  });
  test("planEpochs: newest from its head first; configured from start; new epochs from start", () => {
    assert.deepEqual(planEpochs([0, 1, 2], null, undefined).follow, [{ epoch: 2, fromStart: false }]);
    assert.deepEqual(planEpochs([0, 1, 2], null, [1]).follow, [
      { epoch: 1, fromStart: true },
      { epoch: 2, fromStart: true },
    ]);
    assert.deepEqual(planEpochs([0, 1, 2, 3], [2], undefined).follow, [
      { epoch: 2, fromStart: true },
      { epoch: 3, fromStart: true },
    ]);
    assert.deepEqual(planEpochs([], null, undefined).follow, []);
  });
  test("parseCatFileBatch: blobs by size (content may hold newlines), missing entries null", () => {
    const sha = "a".repeat(40);
    const out = Buffer.from(`${sha} blob 5\nx\ny\nz\nabc:m missing\n${sha} blob 0\n\n`);
    assert.deepEqual(
      parseCatFileBatch(out, 3).map((b) => b?.toString() ?? null),
      ["x\ny\nz", null, ""],
    );
    assert.throws(() => parseCatFileBatch(out, 4), /ended early/);
  });
});

describe("nextPollDelayMs and Retry-After", () => {
  test("doubles per failure up to the cap; Retry-After is a floor", () => {
    assert.equal(nextPollDelayMs({ intervalSec: 300, failures: 0 }), 300_000);
    assert.equal(nextPollDelayMs({ intervalSec: 300, failures: 2 }), 1_200_000);
    assert.equal(nextPollDelayMs({ intervalSec: 300, failures: 9 }), 3_600_000);
    assert.equal(nextPollDelayMs({ intervalSec: 300, failures: 1, retryAfterSec: 7200 }), 7_200_000);
    assert.equal(parseRetryAfter("120"), 120);
    assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:00 GMT")), 60);
    assert.equal(parseRetryAfter("soon"), null);
  });
});
