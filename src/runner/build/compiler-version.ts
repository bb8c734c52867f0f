import { type Exec, exec as defaultExec } from "../../lib/exec.ts";

/** A compiler's version line (`gcc -dumpfullversion`, `clang --version`): part of what kept builds are keyed by; "unknown" when it does not run. */
export async function compilerVersion(argv: readonly string[], exec: Exec = defaultExec): Promise<string> {
  try {
    const r = await exec(argv, { okCodes: "any", timeoutMs: 10_000 });
    return r.code === 0 ? (r.stdout.trim().split("\n")[0] ?? "unknown") : "unknown";
  } catch {
    return "unknown";
  }
}
