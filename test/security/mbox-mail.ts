/** One mail as an mbox entry (mboxrd "From " line, headers, a plain-text body). */
export function mboxMail(headers: readonly string[], body: string): string {
  return ["From mboxrd@z Thu Jan  1 00:00:00 1970", ...headers, "Content-Type: text/plain; charset=utf-8", "", body, "", ""].join("\n");
}

/**
 * A reply in the thread of `cover` built to exhaust a header parser:
 * 100,000 header lines and one References header folded over 60,000 ids.
 */
export function headerBomb(cover: string): string {
  const many = Array.from({ length: 100_000 }, (_, i) => `X-Bomb-${i}: ${"b".repeat(16)}`);
  const refs = Array.from({ length: 60_000 }, (_, i) => `<bomb-${i}@evil.example>`).join("\n ");
  return mboxMail(
    [
      "From: Bomber <bomber@evil.example>",
      "To: bpf@vger.kernel.org",
      "Subject: Re: bomb",
      "Date: Fri, 12 Jun 2026 09:00:00 +0000",
      "Message-ID: <bomb@evil.example>",
      `In-Reply-To: <${cover}>`,
      `References: <${cover}>\n ${refs}`,
      ...many,
    ],
    "/bench",
  );
}
