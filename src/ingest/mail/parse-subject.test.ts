import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ParsedSubject, normalizeTitle, parseSubject } from "./parse-subject.ts";

type Expect = Partial<ParsedSubject>;

const CASES: [string, Expect][] = [
  ["[PATCH] bpf: fix a leak", { kind: "patch", version: 1, index: null, total: null, tree: null, title: "bpf: fix a leak" }],
  ["[PATCH v2 3/5] net: foo", { kind: "patch", version: 2, explicitVersion: true, index: 3, total: 5, title: "net: foo" }],
  [
    "[RFC PATCH bpf-next v2 0/5] tcp: splice",
    { kind: "patch", rfc: true, tree: "bpf-next", version: 2, index: 0, total: 5, title: "tcp: splice" },
  ],
  ["[PATCH bpf 1/2] bpf: x", { tree: "bpf", index: 1, total: 2, version: 1, explicitVersion: false }],
  ["[PATCH net-next 00/17] big", { tree: "net-next", index: 0, total: 17 }],
  ["[PATCH v3 RESEND net 2/4] y", { tree: "net", version: 3, resend: true, index: 2, total: 4 }],
  ["[PATCH 6.1 001/123] stable backport", { tree: "6.1", index: 1, total: 123 }],
  [
    "[pull request][net-next RESEND 00/17] mlx5 updates",
    { kind: "pull", tree: "net-next", resend: true, index: 0, total: 17, title: "mlx5 updates" },
  ],
  ["Re: [PATCH v2 1/2] bpf: x", { isReply: true, kind: "patch", version: 2, index: 1, title: "bpf: x" }],
  ["RE: [PATCH] x", { isReply: true, title: "x" }],
  ["Aw: Re: [PATCH] x", { isReply: true, title: "x" }],
  ["Fwd: [PATCH] x", { isReply: true, forwarded: true, title: "x" }],
  [
    "[syzbot ci] Re: bpf: Fix FIONREAD and copied_seq issues",
    { kind: "other", isReply: true, tree: null, tags: ["syzbot", "ci"], title: "bpf: Fix FIONREAD and copied_seq issues" },
  ],
  ["[GIT PULL] Networking for 6.10", { kind: "pull", tree: null, title: "Networking for 6.10" }],
  ["[GIT] Networking", { kind: "pull", title: "Networking" }],
  ["[PATCH V2 0/4] PM / OPP: Minor cleanups", { version: 2, index: 0, total: 4 }],
  ["[net,v2,1/2] net: ieee802154: remove", { kind: "patch", tree: "net", version: 2, index: 1, total: 2 }],
  ["[PATCH 0 of 2] Sample Mercurial patches", { index: 0, total: 2, title: "Sample Mercurial patches" }],
  ["[Patch 2/2]: powerpc/hotplug/mm: Fix", { kind: "patch", index: 2, total: 2, title: "powerpc/hotplug/mm: Fix" }],
  ["[PATCH -next] bpf: Use PTR_ERR_OR_ZERO", { tree: "-next", kind: "patch" }],
  ["[PATCHv3 2/7] foo", { version: 3, explicitVersion: true, index: 2, total: 7 }],
  ["[dpdk-dev] [PATCH] kni: fix", { tree: null, kind: "patch", title: "kni: fix" }],
  ["[tip:timers/core] [timers]  7ee9887703:  netperf.Throughput_Mbps -1.2% regression", { kind: "other", tree: null }],
  ["plain subject", { kind: "other", isReply: false, title: "plain subject" }],
  ["", { kind: "other", title: "" }],
  ["[PATCH 5/3] impossible", { index: null, total: null }],
  ["Re: Re: Re: [PATCH v4 2/3] bpf, sockmap: Fix", { isReply: true, version: 4, index: 2, total: 3 }],
];

describe("parseSubject", () => {
  for (const [subject, expected] of CASES) {
    it(JSON.stringify(subject), () => {
      const got = parseSubject(subject);
      for (const [k, v] of Object.entries(expected)) {
        assert.deepEqual(got[k as keyof ParsedSubject], v, `${k} of ${JSON.stringify(subject)}`);
      }
    });
  }

  it("never loops on pathological prefixes", () => {
    const s = `${"Re: [x] ".repeat(10_000)}title`;
    const got = parseSubject(s);
    assert.equal(got.isReply, true);
  });

  it("normalizes titles for version matching", () => {
    assert.equal(normalizeTitle("net: dsa: Multi-CPU  ground work (v3)"), "net: dsa: multi-cpu ground work");
  });
});
