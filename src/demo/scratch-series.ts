import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { git as defaultGit, type Git } from "../lib/git.ts";

/**
 * A small kernel-like git tree and a real `git format-patch --cover-letter`
 * series against it, so patchbench can be shown and tested end to end with
 * no outside data. Dates and names are fixed: the commit ids are stable.
 */
const FIXED_ENV = {
  GIT_AUTHOR_NAME: "Ada Hacker",
  GIT_AUTHOR_EMAIL: "ada@example.org",
  GIT_COMMITTER_NAME: "Ada Hacker",
  GIT_COMMITTER_EMAIL: "ada@example.org",
  GIT_AUTHOR_DATE: "2026-06-12T01:14:52+00:00",
  GIT_COMMITTER_DATE: "2026-06-12T01:14:52+00:00",
};

const SOCK_C = `// SPDX-License-Identifier: GPL-2.0
/* net/core/filter.c (excerpt) */
static int sol_socket_sockopt(struct sock *sk, int optname,
			      char *optval, int *optlen, bool getopt)
{
	switch (optname) {
	case SO_REUSEADDR:
	case SO_SNDBUF:
	case SO_RCVBUF:
	case SO_KEEPALIVE:
	case SO_PRIORITY:
	case SO_REUSEPORT:
	case SO_RCVLOWAT:
	case SO_MARK:
	case SO_MAX_PACING_RATE:
	case SO_BINDTOIFINDEX:
	case SO_TXREHASH:
		if (*optlen != sizeof(int))
			return -EINVAL;
		break;
	case SO_BINDTODEVICE:
		break;
	default:
		return -EINVAL;
	}
	return sk_setsockopt(sk, SOL_SOCKET, optname, KERNEL_SOCKPTR(optval), *optlen);
}
`;

const TEST_C = `// SPDX-License-Identifier: GPL-2.0
/* tools/testing/selftests/bpf/progs/setget_sockopt.c (excerpt) */
static const struct sockopt_test sol_socket_tests[] = {
	{ .opt = SO_REUSEADDR, .flip = 1, },
	{ .opt = SO_SNDBUF, .new = 8123, .expected = 8123 * 2, },
	{ .opt = SO_RCVBUF, .new = 8123, .expected = 8123 * 2, },
	{ .opt = SO_KEEPALIVE, .flip = 1, },
	{ .opt = 0, },
};
`;

export interface ScratchSeries {
  treeDir: string;
  baseCommit: string;
  mboxPath: string;
  /** The `git format-patch` output folder (one .patch file per mail). */
  seriesDir: string;
}

export async function createScratchTree(dir: string, git: Git = defaultGit): Promise<{ treeDir: string; baseCommit: string }> {
  const treeDir = join(dir, "tree");
  mkdirSync(join(treeDir, "net/core"), { recursive: true });
  mkdirSync(join(treeDir, "tools/testing/selftests/bpf/progs"), { recursive: true });
  writeFileSync(join(treeDir, "net/core/filter.c"), SOCK_C);
  writeFileSync(join(treeDir, "tools/testing/selftests/bpf/progs/setget_sockopt.c"), TEST_C);
  writeFileSync(join(treeDir, "MAINTAINERS"), "BPF\nM:\tAda Hacker <ada@example.org>\nL:\tbpf@vger.kernel.org\n");
  const env = { extraEnv: FIXED_ENV };
  await git(["init", "-q", "-b", "master", treeDir], env);
  await git(["add", "-A"], { ...env, repo: treeDir });
  await git(["commit", "-q", "-m", "Initial import of the scratch tree"], { ...env, repo: treeDir });
  const baseCommit = (await git(["rev-parse", "HEAD"], { repo: treeDir })).stdout.trim();
  return { treeDir, baseCommit };
}

/**
 * Two patches (+ cover letter) on a branch of the scratch tree, exported as
 * one mbox. With `conflicting`, the tree's master moves on so patch 1 no
 * longer applies there.
 */
export async function createScratchSeries(
  dir: string,
  options: { conflicting?: boolean; git?: Git; /** false: no --thread, so no Message-ID headers (an unsent series) */ thread?: boolean } = {},
): Promise<ScratchSeries> {
  const git = options.git ?? defaultGit;
  const { treeDir, baseCommit } = await createScratchTree(dir, git);
  const env = { extraEnv: FIXED_ENV };
  await git(["checkout", "-q", "-b", "busy-poll"], { ...env, repo: treeDir });
  const filter = join(treeDir, "net/core/filter.c");
  writeFileSync(filter, readFileSync(filter, "utf8").replace("\tcase SO_TXREHASH:\n", "\tcase SO_TXREHASH:\n\tcase SO_BUSY_POLL:\n"));
  await git(["commit", "-q", "-a", "-s", "-m", "bpf: allow SO_BUSY_POLL in bpf_setsockopt()\n\nLet sockops programs set a per-socket busy-poll budget, so BPF-paired\nloopback sockets can spin instead of sleeping on short round trips."], { ...env, repo: treeDir });
  const test = join(treeDir, "tools/testing/selftests/bpf/progs/setget_sockopt.c");
  writeFileSync(test, readFileSync(test, "utf8").replace("\t{ .opt = 0, },\n", "\t{ .opt = SO_BUSY_POLL, .new = 50, .expected = 50, },\n\t{ .opt = 0, },\n"));
  await git(["commit", "-q", "-a", "-s", "-m", "selftests/bpf: cover SO_BUSY_POLL in setget_sockopt\n\nCheck that bpf_setsockopt(SO_BUSY_POLL) round-trips through getsockopt."], { ...env, repo: treeDir });
  const outDir = join(dir, "series");
  await git(
    [
      "format-patch", "-q", "--cover-letter", options.thread === false ? "--no-thread" : "--thread=shallow", "--subject-prefix=PATCH bpf-next",
      `--base=${baseCommit}`, "-o", outDir, `${baseCommit}..busy-poll`,
    ],
    { ...env, repo: treeDir },
  );
  // Fill in the cover letter as an author would.
  const patches = readdirSync(outDir).filter((f) => f.endsWith(".patch")).sort();
  const coverFile = join(outDir, patches[0]!);
  writeFileSync(
    coverFile,
    readFileSync(coverFile, "utf8")
      .replace("*** SUBJECT HERE ***", "bpf: SO_BUSY_POLL from sockops programs")
      .replace(
        "*** BLURB HERE ***",
        "Sockops programs can set most SOL_SOCKET options through\nbpf_setsockopt() but not SO_BUSY_POLL. Allow it, with a selftest.\n\nBusy polling trades CPU for latency; please check TCP_RR on\nloopback and between namespaces with net.core.busy_read 0 vs 50.",
      ),
  );
  await git(["checkout", "-q", "master"], { repo: treeDir });
  if (options.conflicting) {
    // A tree the series cannot apply to by any rule: its base commit and the
    // patches' preimage blobs are gone, and the tip changed the same lines.
    rmSync(join(treeDir, ".git"), { recursive: true, force: true });
    writeFileSync(filter, readFileSync(filter, "utf8").replace("\tcase SO_TXREHASH:\n", "\tcase SO_TXREHASH:\n\tcase SO_INCOMING_CPU:\n"));
    await git(["init", "-q", "-b", "master", treeDir], env);
    await git(["add", "-A"], { ...env, repo: treeDir });
    await git(["commit", "-q", "-m", "Import with SO_INCOMING_CPU accepted in bpf_setsockopt()"], { ...env, repo: treeDir });
  }
  const mbox = Buffer.concat(patches.map((f) => readFileSync(join(outDir, f))));
  const mboxPath = join(dir, "series.mbox");
  writeFileSync(mboxPath, mbox);
  return { treeDir, baseCommit, mboxPath, seriesDir: outDir };
}
