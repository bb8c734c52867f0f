// SPDX-License-Identifier: GPL-2.0
/*
 * sock_ops program of the patchbench host probe: on an actively established
 * TCP connection, record what bpf_setsockopt(SOL_SOCKET, SO_BUSY_POLL) and,
 * as a control, bpf_setsockopt(SOL_SOCKET, SO_KEEPALIVE) return.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SOL_SOCKET 1
#define SO_KEEPALIVE 9
#define SO_BUSY_POLL 46

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 3);
  __type(key, __u32);
  __type(value, __s64);
} results SEC(".maps");

SEC("sockops")
int busy_poll_probe(struct bpf_sock_ops *skops)
{
  __u32 k_busy = 0, k_keep = 1, k_ran = 2;
  __s64 r, ran = 1;
  int v;

  if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
    return 1;
  v = 50;
  r = bpf_setsockopt(skops, SOL_SOCKET, SO_BUSY_POLL, &v, sizeof(v));
  bpf_map_update_elem(&results, &k_busy, &r, BPF_ANY);
  v = 1;
  r = bpf_setsockopt(skops, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
  bpf_map_update_elem(&results, &k_keep, &r, BPF_ANY);
  bpf_map_update_elem(&results, &k_ran, &ran, BPF_ANY);
  return 1;
}

char _license[] SEC("license") = "GPL";
