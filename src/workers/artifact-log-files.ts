import { constants, type FileHandle, lstat, open, readdir, realpath } from "node:fs/promises";
import { join } from "node:path";
import { isArtifactLogName } from "../domain/artifact-log-names.ts";
import type { LogFileHere } from "../web/run-logs.ts";

/** Flow ids are ours (hex, dashes); anything else never becomes a path. */
const FLOW_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/**
 * `<root>/<flow>` when it is a real folder right under the artifacts root's real path: the folder
 * itself a link (to anywhere) is not one. The sandbox user wrote files in these folders.
 */
async function flowDir(root: string, flowId: string): Promise<string | null> {
  if (!FLOW_ID.test(flowId)) return null;
  try {
    const dir = join(await realpath(root), flowId);
    const st = await lstat(dir);
    return st.isDirectory() && (await realpath(dir)) === dir ? dir : null;
  } catch {
    return null;
  }
}

/** The flow's log files on this host: names from the closed list, regular files only (no link of either kind), with their sizes. */
export async function listArtifactLogs(root: string, flowId: string): Promise<LogFileHere[]> {
  const dir = await flowDir(root, flowId);
  if (!dir) return [];
  const files: LogFileHere[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!isArtifactLogName(name)) continue;
    const st = await lstat(join(dir, name)).catch(() => null);
    if (st?.isFile() && st.nlink === 1) files.push({ name, bytes: st.size });
  }
  return files;
}

/** An open log file of a flow's artifacts, to stream; the caller closes `handle`. */
export interface ArtifactLog {
  handle: FileHandle;
  size: number;
  path: string;
}

/**
 * Open one log file of a flow's artifacts for reading, or null. Only a name of the closed list, only
 * a regular file with one link whose real path is `<real root>/<flow>/<name>`; opened with
 * O_NOFOLLOW (a link swapped in after the checks fails to open) and O_NONBLOCK (a FIFO swapped in
 * cannot hang the server), then the open file is checked to be the one looked at.
 */
export async function openArtifactLog(root: string, flowId: string, name: string): Promise<ArtifactLog | null> {
  if (!isArtifactLogName(name)) return null;
  const dir = await flowDir(root, flowId);
  if (!dir) return null;
  const path = join(dir, name);
  const st = await lstat(path).catch(() => null);
  if (!st?.isFile() || st.nlink !== 1) return null;
  if ((await realpath(path).catch(() => null)) !== path) return null;
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (!handle) return null;
  const now = await handle.stat().catch(() => null);
  if (!now?.isFile() || now.ino !== st.ino || now.dev !== st.dev || now.nlink !== 1) {
    await handle.close();
    return null;
  }
  return { handle, size: now.size, path };
}

/** Whether the file ends with `tail` (a stored console tail: carriage returns dropped, as consoleTail drops them). */
export async function logEndsWith(log: ArtifactLog, tail: string): Promise<boolean> {
  if (tail === "") return true;
  // The stored tail is at most a few thousand characters; 4 bytes a character at worst, and room for the dropped \r.
  const want = Math.min(log.size, Buffer.byteLength(tail) * 2 + 4096);
  const buf = Buffer.alloc(want);
  const { bytesRead } = await log.handle.read(buf, 0, want, log.size - want);
  return buf.subarray(0, bytesRead).toString("utf8").replace(/\r/g, "").endsWith(tail);
}
