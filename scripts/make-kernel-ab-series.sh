#!/usr/bin/env bash
# Makes the kernel A/B test series (test/data/kernel-ab/*.mbox) with real
# `git format-patch` against the pinned linux-source-6.1 tree
# (scripts/prepare-kernel-tree.sh). Identities and dates are fixed, so the commits
# (and the improvement series' base-commit) are identical on every run; only the
# Message-IDs carry the time of the run.
#   regression:  a 500 us busy-wait per transmitted TCP segment (__tcp_transmit_skb)
#   noop:        a comment-only change in the same file
#   improvement: on a tree whose history carries the busy-wait, the series removes it;
#                the cover letter claims a speedup in the seed's format (CLAIM below)
#   selftest:    adds a KTAP kselftest (net/pb_ktap_smoke.sh) and a test_progs test (bpf pb_smoke,
#                from test/data/test-progs), each with a second case that fails on purpose
#   bpfprog:     adds two BPF selftest programs (a 1 ms tc busy-wait and a sock_ops program that
#                sets SO_BUSY_POLL): no kernel change; the programs are an arm's, built from the series
#   feature:     on the busy-wait history, skips the wait while net.core.busy_read is set: no
#                change by default, the speedup only with the setting (an arm's job); the cover
#                letter claims "baseline TCP vs busy-poll" in the seed's format (FEATURE_CLAIM)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT=test/data/kernel-ab
SRC="$(bash scripts/prepare-kernel-tree.sh)"
CLAIM="${CLAIM:?set CLAIM to the measured figure line, e.g. 'TCP_RR (loopback) 1 B 1.2k -> 2.4k tps (2.00x)'}"
FEATURE_CLAIM="${FEATURE_CLAIM:?set FEATURE_CLAIM to the measured figure line of the busy_read=50 arm against the candidate}"
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
git clone -q --shared --branch base "$SRC" "$W/t"
cd "$W/t"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C TZ=UTC \
  GIT_AUTHOR_NAME="Ada Hacker" GIT_AUTHOR_EMAIL=ada@example.org \
  GIT_COMMITTER_NAME="Ada Hacker" GIT_COMMITTER_EMAIL=ada@example.org \
  GIT_AUTHOR_DATE=2026-12-01T10:00:00Z GIT_COMMITTER_DATE=2026-12-01T10:00:00Z
F=net/ipv4/tcp_output.c
busy() { perl -0pi -e 's/(\tBUG_ON\(!skb \|\| !tcp_skb_pcount\(skb\)\);\n)/$1\tudelay(500);\n/' "$F"
         perl -0pi -e 's/(#include <linux\/static_key.h>\n)/$1#include <linux\/delay.h>\n/' "$F"; }
# format-patch's Message-IDs carry the current second: one second apart, the three series never share one.
fmt() { sleep 1.1; git format-patch -q --cover-letter --thread=shallow --base=HEAD~1 -1 --subject-prefix="PATCH net-next" \
          --stdout HEAD~1..HEAD; }
cover() { perl -0pi -e "s/\\*\\*\\* SUBJECT HERE \\*\\*\\*/$1/; s/\\*\\*\\* BLURB HERE \\*\\*\\*/$2/" "$3"; }

git checkout -q -b regression base
busy
git commit -q -am "tcp: wait 500 us before every transmitted segment" -m "Test data for patchbench: makes every TCP transmit slower on purpose." -m "Signed-off-by: Ada Hacker <ada@example.org>"
fmt >"$W/regression.mbox"
cover "tcp: slower transmits" "A deliberate regression: 500 us of busy-waiting per segment." "$W/regression.mbox"

git checkout -q -b noop base
perl -0pi -e 's/(static int __tcp_transmit_skb\(struct sock \*sk)/\/* Builds the TCP header and hands the segment to the IP layer. *\/\n$1/' "$F"
git commit -q -am "tcp: say what __tcp_transmit_skb does" -m "Signed-off-by: Ada Hacker <ada@example.org>"
fmt >"$W/noop.mbox"
cover "tcp: a comment" "Only a comment changes; no change in behaviour." "$W/noop.mbox"

git checkout -q -b selftest base
T=tools/testing/selftests/net/pb_ktap_smoke.sh
cat >"$T" <<'EOS'
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A KTAP smoke test: the kernel has a loopback device, and one case fails on purpose.
echo "TAP version 13"
echo "1..2"
if [ -d /sys/class/net/lo ]; then
	echo "ok 1 loopback_present"
else
	echo "not ok 1 loopback_present"
fi
echo "not ok 2 fails_on_purpose"
exit 1
EOS
chmod 755 "$T"
# And a test_progs test (test/data/test-progs): its BPF program runs once, its second subtest fails.
B=tools/testing/selftests/bpf
cp "$ROOT/test/data/test-progs/pb_smoke.prog_test.c" "$B/prog_tests/pb_smoke.c"
cp "$ROOT/test/data/test-progs/pb_smoke.prog.c" "$B/progs/pb_smoke.c"
git add -f "$T" "$B/prog_tests/pb_smoke.c" "$B/progs/pb_smoke.c"
git commit -q -m "selftests: smoke tests that fail on purpose" -m "Test data for patchbench: a new KTAP kselftest and a new test_progs test, each with a case that always fails." -m "Signed-off-by: Ada Hacker <ada@example.org>"
fmt >"$W/selftest.mbox"
cover "selftests: failing smoke tests" "Adds a KTAP kselftest and a test_progs test, each with a case that fails on purpose." "$W/selftest.mbox"

git checkout -q -b bpfprog base
P=tools/testing/selftests/bpf/progs
cat >"$P/pb_tc_busy_wait.c" <<'EOS'
// SPDX-License-Identifier: GPL-2.0
/* Busy-waits 1 ms per packet on tc egress, then passes it on. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define DELAY_NS 1000000

struct wait_ctx { __u64 start; };

static long spin(__u64 i, void *data)
{
	struct wait_ctx *c = data;

	return bpf_ktime_get_ns() - c->start >= DELAY_NS ? 1 : 0;
}

SEC("tc")
int busy_wait(struct __sk_buff *skb)
{
	struct wait_ctx c = { .start = bpf_ktime_get_ns() };

	bpf_loop(1 << 23, spin, &c, 0);
	return 0; /* TC_ACT_OK */
}

char LICENSE[] SEC("license") = "GPL";
EOS
cat >"$P/pb_sockops_busy_poll.c" <<'EOS'
// SPDX-License-Identifier: GPL-2.0
/* Asks for SO_BUSY_POLL = 50 us on every established TCP socket of the cgroup. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SOL_SOCKET 1
#define SO_BUSY_POLL 46

__s64 last_ret = 0;

SEC("sockops")
int set_busy_poll(struct bpf_sock_ops *skops)
{
	if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB || skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
		int v = 50;

		last_ret = bpf_setsockopt(skops, SOL_SOCKET, SO_BUSY_POLL, &v, sizeof(v));
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
EOS
git add -f "$P/pb_tc_busy_wait.c" "$P/pb_sockops_busy_poll.c"
git commit -q -m "selftests/bpf: a tc busy-wait and a busy-poll sock_ops program" -m "Test data for patchbench: BPF programs an arm attaches, built from the series." -m "Signed-off-by: Ada Hacker <ada@example.org>"
fmt >"$W/bpfprog.mbox"
cover "selftests: bpf: two programs for an arm" "Adds BPF selftest programs only; the kernel does not change." "$W/bpfprog.mbox"

# The "slow" history: the busy-wait as a commit of the tree itself (the e2e test makes the same
# commit with the same identity and date, so its id is the base-commit of the improvement series).
git checkout -q -b slow base
git cherry-pick regression >/dev/null
git checkout -q -b improvement slow
git revert --no-edit HEAD >/dev/null
git commit -q --amend -m "tcp: do not wait before transmitting" -m "Removes the 500 us busy-wait per segment." -m "Signed-off-by: Ada Hacker <ada@example.org>"
fmt >"$W/improvement.mbox"
cover "tcp: faster transmits" "Removes the busy-wait that every segment paid.\\n\\n  $CLAIM" "$W/improvement.mbox"

git checkout -q -b feature slow
perl -0pi -e 's/\tudelay\(500\);\n/\t\/* A busy-polling reader is waiting for this segment: do not make it wait. *\/\n\tif (!READ_ONCE(sysctl_net_busy_read))\n\t\tudelay(500);\n/' "$F"
perl -0pi -e 's/(#include <linux\/delay.h>\n)/$1#include <net\/busy_poll.h>\n/' "$F"
git commit -q -am "tcp: no transmit wait while busy polling is on" -m "With net.core.busy_read set, segments go out without the 500 us wait." -m "Signed-off-by: Ada Hacker <ada@example.org>"
fmt >"$W/feature.mbox"
cover "tcp: busy-poll skips the transmit wait" "Segments go out without the 500 us wait while net.core.busy_read is set;\nnothing changes with the default setting.\n\nnetperf in a 1-vCPU QEMU guest, baseline TCP vs busy-poll:\n$FEATURE_CLAIM" "$W/feature.mbox"
echo "slow: $(git rev-parse slow)" >&2
cd - >/dev/null
cp "$W"/{regression,noop,selftest,bpfprog,improvement,feature}.mbox "$OUT/"
