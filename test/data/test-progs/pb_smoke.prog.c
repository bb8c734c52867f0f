// SPDX-License-Identifier: GPL-2.0
/* Counts its runs: test_progs' pb_smoke runs it once with BPF_PROG_TEST_RUN. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int runs = 0;

SEC("socket")
int pb_count(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&runs, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
