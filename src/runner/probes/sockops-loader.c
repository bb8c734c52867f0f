/*
 * Loads sockops-busy-poll.bpf.o with libbpf, attaches it to the given
 * cgroup v2 directory, joins that cgroup, makes one loopback TCP
 * connection and prints the recorded return values as one JSON line:
 * {"busyPoll":N,"keepalive":N,"ran":0|1}. Errors: {"error":"..."}, exit 1.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what) {
  printf("{\"error\":\"%s: %s\"}\n", what, strerror(errno));
  return 1;
}

static int join_cgroup(const char *dir) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fprintf(f, "%d\n", getpid());
  return fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s prog.bpf.o child-cgroup parent-cgroup\n", argv[0]);
    return 2;
  }
  libbpf_set_print(NULL);
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj || libbpf_get_error(obj)) return fail("open object");
  if (bpf_object__load(obj)) return fail("load (verifier)");
  struct bpf_program *prog = bpf_object__find_program_by_name(obj, "busy_poll_probe");
  struct bpf_map *map = bpf_object__find_map_by_name(obj, "results");
  if (!prog || !map) return fail("find program/map");
  int cg = open(argv[2], O_RDONLY | O_DIRECTORY);
  if (cg < 0) return fail("open cgroup");
  if (bpf_prog_attach(bpf_program__fd(prog), cg, BPF_CGROUP_SOCK_OPS, 0)) return fail("attach");
  if (join_cgroup(argv[2])) return fail("join cgroup");

  int srv = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof(a);
  if (bind(srv, (struct sockaddr *)&a, sizeof(a)) || listen(srv, 1) || getsockname(srv, (struct sockaddr *)&a, &alen)) return fail("listen");
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(c, (struct sockaddr *)&a, sizeof(a))) return fail("connect");
  int s = accept(srv, NULL, NULL);
  close(s);
  close(c);
  close(srv);

  long long v[3] = {0, 0, 0};
  for (unsigned int k = 0; k < 3; k++) bpf_map_lookup_elem(bpf_map__fd(map), &k, &v[k]);
  join_cgroup(argv[3]);
  bpf_prog_detach2(bpf_program__fd(prog), cg, BPF_CGROUP_SOCK_OPS);
  printf("{\"busyPoll\":%lld,\"keepalive\":%lld,\"ran\":%lld}\n", v[0], v[1], v[2]);
  bpf_object__close(obj);
  return 0;
}
