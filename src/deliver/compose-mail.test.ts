import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { renderText } from "../report/render-text.ts";
import { checkGolden, FIXED_DATE, fixtureReports } from "../../test/integration/mail-fixture-results.ts";
import { composeMail } from "./compose-mail.ts";
import { reportMessageId } from "./deliver-mail.ts";

describe("composeMail golden (the whole message a list receives)", () => {
  test("does-not-apply reply: headers, threading and 7bit body are byte-stable", async () => {
    const { doesNotApply: r } = await fixtureReports();
    const from = "patchbench <patchbench@bot.example.org>";
    const raw = await composeMail(
      {
        from,
        to: [r.series.author],
        cc: ["netdev@vger.kernel.org"],
        subject: r.thread.subject,
        messageId: reportMessageId(r.id, from),
        inReplyTo: r.thread.inReplyTo,
        references: r.thread.references,
        text: renderText(r),
        headers: { "X-Patchbench-Report": r.id, "X-Patchbench-Series": r.series.id, "X-Patchbench-Status": r.status },
      },
      new Date(FIXED_DATE),
    );
    const text = raw.toString("utf8");
    assert.match(text, /^Content-Transfer-Encoding: 7bit$/m, "ASCII lines <= 72 columns go out as plain 7bit");
    assert.match(text, /^In-Reply-To: <20251024075027\.3178786-1-edumazet@google\.com>$/m);
    checkGolden("mail-does-not-apply-message.txt", text);
  });
});
