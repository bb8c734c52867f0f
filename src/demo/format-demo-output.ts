/**
 * What the demo prints once the report is in: the body of the mail
 * patchbench would send (its per-cell verdict lines are part of it, so they
 * are not printed a second time), then where that mail is.
 */
export function formatDemoOutput(eml: string, emlPath: string): string {
  const body = eml.slice(eml.indexOf("\n\n") + 2);
  return `\n${body}\nReport (the mail patchbench would send, dry run): ${emlPath}\n`;
}
