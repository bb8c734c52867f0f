import nodemailer from "nodemailer";

export interface MailMessage {
  from: string;
  to: string[];
  cc: string[];
  subject: string;
  /** Without angle brackets. */
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  text: string;
  headers: Record<string, string>;
}

const angle = (id: string) => `<${id}>`;

/**
 * Compose the exact bytes of a mail (RFC 5322) with nodemailer. The same
 * bytes are written to the outbox in dry-run mode and sent over SMTP, so
 * what a maintainer reads is what the golden files show.
 */
export async function composeMail(m: MailMessage, date: Date): Promise<Buffer> {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  const info = await transport.sendMail({
    from: m.from,
    to: m.to,
    cc: m.cc,
    subject: m.subject,
    messageId: angle(m.messageId),
    ...(m.inReplyTo ? { inReplyTo: angle(m.inReplyTo) } : {}),
    ...(m.references.length ? { references: m.references.map(angle) } : {}),
    date,
    text: m.text,
    headers: m.headers,
  });
  return info.message as Buffer;
}
