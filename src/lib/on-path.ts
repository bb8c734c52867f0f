import { existsSync } from "node:fs";
import { join } from "node:path";

/** Whether a command of that name is in one of PATH's folders (no child process). */
export function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(":").some((d) => d !== "" && existsSync(join(d, name)));
}
