// SPDX-License-Identifier: GPL-2.0
/* A test_progs smoke test: a BPF program loads and runs in this kernel; one case fails on purpose. */
#include <test_progs.h>
#include "pb_smoke.skel.h"

void test_pb_smoke(void)
{
	if (test__start_subtest("prog_runs")) {
		char pkt[64] = {};
		LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);
		struct pb_smoke *skel = pb_smoke__open_and_load();

		if (ASSERT_OK_PTR(skel, "open_and_load")) {
			ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.pb_count), &topts), "test_run");
			ASSERT_EQ(skel->bss->runs, 1, "runs");
			pb_smoke__destroy(skel);
		}
	}
	if (test__start_subtest("fails_on_purpose"))
		ASSERT_EQ(1, 2, "fails_on_purpose");
}
