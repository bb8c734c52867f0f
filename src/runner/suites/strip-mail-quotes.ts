/**
 * Remove mail quoting (`> `, `>> `, `> > > > `) from the start of every line,
 * so runner output pasted into a review mail can be fed to the parsers.
 * Only one optional space after each `>` is removed: the indentation that
 * follows is part of the output (KTAP nesting depends on it).
 */
export function stripMailQuotes(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/^[ \t]*(?:> ?)+/, ""))
    .join("\n");
}
