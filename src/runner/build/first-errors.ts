/** Pure: the first error lines of a compiler's or make's output (else its last lines), for a one-line reason. */
export function firstErrors(text: string, pattern: RegExp = /error:|fatal error/): string {
  return (
    text
      .split("\n")
      .filter((l) => pattern.test(l))
      .slice(0, 3)
      .join(" ")
      .slice(0, 600) || text.trim().split("\n").slice(-3).join(" ").slice(0, 600)
  );
}
