import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES, readFixture } from "../../../test/helpers/fixtures.ts";
import { buildPatchMail, buildTestMail } from "./build-test-mail.ts";
import { classifyMessage, hasDiff } from "./classify-message.ts";
import { parseMessage } from "./parse-message.ts";
import { readMailbox } from "./read-mailbox.ts";

async function kindOf(raw: Uint8Array): Promise<string> {
  return classifyMessage(await parseMessage(raw)).kind;
}

describe("classifyMessage on real mails", () => {
  const cases: [string[], string][] = [
    [["bpf-sysctl-get-name", "v1", "00-single-patch.eml"], "patch"],
    [["bpf-sysctl-get-name", "v2", "00-cover.eml"], "cover"],
    [["bpf-sysctl-get-name", "v2", "02-patch.eml"], "patch"],
    [["bpf-sysctl-get-name", "v2", "01-1-reply-acked-by-yonghong.eml"], "reply"],
    [["bpf-sysctl-get-name", "v3", "03-reply-patchwork-bot-applied.eml"], "bot"],
    [["bpf-fionread-copied-seq", "v1-0-reply-syzbot-ci.eml"], "bot"],
    [["bpf-fionread-copied-seq", "v4-2-3-reply-bot-bpf-ci.eml"], "bot"],
    [["bpf-fionread-copied-seq", "v6-0-cover.eml"], "cover"],
    [["lkp", "lkp-netperf-regression.TRUNCATED-first-16000-of-39584-chars.eml"], "bot"],
    [["apply-6.1", "delack-2.eml"], "patch"],
  ];
  for (const [path, kind] of cases) {
    it(`${path.join("/")} → ${kind}`, async () => {
      assert.equal(await kindOf(readFixture("mail", ...path)), kind);
    });
  }

  it("pull requests (patchwork samples)", async () => {
    for (const f of ["mail-0001-git-pull-request.mbox", "mail-0017-git-pull-request-git-2-14-3.mbox"]) {
      const r = readMailbox(join(FIXTURES, "mail", "patchwork", f));
      assert.equal(await kindOf(r.messages[0]!.raw), "pull", f);
    }
  });

  it("CVS-style diff is still a diff", async () => {
    const r = readMailbox(join(FIXTURES, "mail", "patchwork", "mail-0007-cvs-format-diff.mbox"));
    const m = await parseMessage(r.messages[0]!.raw);
    assert.equal(hasDiff(m.body), true);
  });
});

describe("classifyMessage rules", () => {
  it("a patch needs a diff and a patch-like subject", async () => {
    assert.equal(await kindOf(buildPatchMail({ id: "a@x", subject: "[PATCH 1/2] x" })), "patch");
    assert.equal(await kindOf(buildPatchMail({ id: "a@x", subject: "no tags here" })), "other");
    assert.equal(await kindOf(buildPatchMail({ id: "a@x", subject: "[PATCH 1/2] x", body: "no diff\n" })), "other");
  });

  it("commands are replies with a /bench line; quoted /bench is not a command", async () => {
    const cmd = buildPatchMail({ id: "c@x", subject: "Re: [PATCH 1/2] x", inReplyTo: "p@x", body: "> hi\n/bench netperf TCP_RR\n" });
    assert.equal(await kindOf(cmd), "command");
    const quoted = buildPatchMail({ id: "c@x", subject: "Re: [PATCH 1/2] x", inReplyTo: "p@x", body: "> /bench netperf\nok\n" });
    assert.equal(await kindOf(quoted), "reply");
  });

  it("our own mail (any X-Patchbench-* header) is a bot, even with /bench in it", async () => {
    const own = buildPatchMail({
      id: "o@x",
      subject: "Re: [PATCH 1/2] x",
      inReplyTo: "p@x",
      body: "/bench netperf\n",
      extra: [["X-Patchbench-Series", "series-abc"]],
    });
    const c = classifyMessage(await parseMessage(own));
    assert.equal(c.kind, "bot");
    assert.equal(c.bot, "patchbench");
  });

  it("kernel test robot by address", async () => {
    const m = buildTestMail(
      [
        ["From", "kernel test robot <lkp@intel.com>"],
        ["Subject", "Re: [PATCH] x"],
        ["Message-ID", "<k@x>"],
        ["In-Reply-To", "<p@x>"],
      ],
      "Hi\n",
    );
    assert.equal(classifyMessage(await parseMessage(m)).bot, "kernel-test-robot");
  });
});
