/**
 * Pure: the cgroup v2 mount point from /proc/mounts text (hybrid hosts
 * mount it at /sys/fs/cgroup/unified, unified hosts at /sys/fs/cgroup:
 * never hard-code it). Octal escapes (\040 for a space) are decoded.
 */
export function findCgroup2Mount(procMounts: string): string | null {
  for (const line of procMounts.split("\n")) {
    const [, dir, type] = line.split(" ");
    if (type === "cgroup2" && dir) return dir.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  }
  return null;
}
