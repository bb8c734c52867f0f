import type { ParsedMessage } from "./parse-message.ts";
import { type ParsedSubject, parseSubject } from "./parse-subject.ts";

export type MessageClass = "patch" | "cover" | "reply" | "pull" | "bot" | "command" | "other";

export interface Classification {
  kind: MessageClass;
  subject: ParsedSubject;
  /** The body carries a diff git can apply. */
  hasDiff: boolean;
  /** Which bot, when kind is "bot". */
  bot: string | null;
}

/** `diff --git`, or a unified diff (`--- a` / `+++ b` / `@@`), or an `Index:` (CVS/SVN) diff. */
export function hasDiff(body: string): boolean {
  if (body.includes("\ndiff --git ") || body.startsWith("diff --git ")) return true;
  const minus = body.indexOf("\n--- ");
  if (minus < 0) return false;
  return /^--- \S.*\r?\n\+\+\+ \S.*\r?\n@@ /m.test(body);
}

/** The git request-pull text (patchwork detects pull requests the same way). */
export function isPullRequestBody(body: string): boolean {
  if (!body.includes("The following changes since commit")) return false;
  return /^The following changes since commit [0-9a-f]{7,}/m.test(body) && /are available in the [Gg]it repository at/.test(body);
}

/** Known robots that post to the lists; our own mail is any X-Patchbench-* header. */
export function detectBot(msg: Pick<ParsedMessage, "from" | "subject" | "headers">, subject: ParsedSubject): string | null {
  if (Object.keys(msg.headers.patchbench).length > 0) return "patchbench";
  const email = msg.from.email.toLowerCase();
  const name = msg.from.name.toLowerCase();
  if (email.startsWith("patchwork-bot+")) return "patchwork-bot";
  if (/^bot\+[^@]*@kernel\.org$/.test(email)) return email.slice(0, email.indexOf("@"));
  if (email.startsWith("syzbot") || name.startsWith("syzbot") || subject.tags.some((t) => t.toLowerCase() === "syzbot"))
    return "syzbot";
  if (email === "lkp@intel.com" || name === "kernel test robot") return "kernel-test-robot";
  return null;
}

function hasCommandLine(body: string): boolean {
  return /^\/bench(\s|$)/m.test(body);
}

/**
 * patch | cover | reply | pull | bot | command | other. A patch needs both a
 * diff and a patch-like subject; a command is a reply with a `/bench` line.
 */
export function classifyMessage(msg: ParsedMessage, subject?: ParsedSubject): Classification {
  // Once per message: a lazy body is decoded (or loaded from its file) on every read.
  const known = memo.get(msg);
  if (known) return known;
  const result = classifyUncached(msg, subject ?? parseSubject(msg.subject));
  memo.set(msg, result);
  return result;
}

/** Classification is a function of the message; ParsedMessage is immutable. */
const memo = new WeakMap<ParsedMessage, Classification>();

function classifyUncached(msg: ParsedMessage, subject: ParsedSubject): Classification {
  const body = msg.body;
  const diff = hasDiff(body);
  const bot = detectBot(msg, subject);
  const threaded = msg.inReplyToAll.length > 0 || msg.references.length > 0;
  const result = (kind: MessageClass): Classification => ({ kind, subject, hasDiff: diff, bot });
  if (bot !== null) return result("bot");
  if (subject.isReply) {
    if (hasCommandLine(body)) return result("command");
    return result(threaded ? "reply" : "other");
  }
  if (subject.kind === "pull" || (isPullRequestBody(body) && !diff && subject.index === null)) return result("pull");
  if (subject.kind === "patch") {
    if (subject.index === 0) return result("cover");
    if (diff) return result("patch");
  }
  if (threaded) return result(hasCommandLine(body) ? "command" : "reply");
  return result("other");
}
