/*
 * patchbench in-guest probe: a static binary packed into the initramfs (QEMU),
 * copied to the target (SSH) or run in place (host). Prints one line per
 * probe, "PATCHBENCH-PROBE {json}", then "PATCHBENCH-DONE".
 *   tcp-loopback-round-trip: brings lo up, N echo exchanges over 127.0.0.1.
 *   so-busy-poll-setsockopt: setsockopt(SO_BUSY_POLL, 50), getsockopt reads 50.
 */
#include <errno.h>
#include <signal.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_BUSY_POLL
#define SO_BUSY_POLL 46
#endif

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void emit(const char *name, const char *status, const char *detail, double t0) {
  printf("PATCHBENCH-PROBE {\"name\":\"%s\",\"status\":\"%s\",\"detail\":\"%s\",\"durationMs\":%.3f}\n", name, status, detail, now_ms() - t0);
  fflush(stdout);
}

static void lo_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  strcpy(ifr.ifr_name, "lo");
  if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP;
    ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  if (s >= 0) close(s);
}

static int read_full(int fd, char *buf, int n) {
  int got = 0;
  while (got < n) {
    int r = read(fd, buf + got, n - got);
    if (r <= 0) return -1;
    got += r;
  }
  return got;
}

static void tcp_round_trip(int n, int size) {
  double t0 = now_ms();
  char detail[256];
  char msg[256], got[256];
  lo_up();
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  socklen_t alen = sizeof(a);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (srv < 0 || bind(srv, (struct sockaddr *)&a, sizeof(a)) || listen(srv, 1) || getsockname(srv, (struct sockaddr *)&a, &alen)) {
    snprintf(detail, sizeof(detail), "listen on 127.0.0.1 failed: errno %d (%s)", errno, strerror(errno));
    emit("tcp-loopback-round-trip", "fail", detail, t0);
    return;
  }
  pid_t child = fork();
  if (child == 0) {
    int c = accept(srv, NULL, NULL);
    char buf[256];
    while (c >= 0 && read_full(c, buf, size) == size) write(c, buf, size);
    _exit(0);
  }
  int c = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(c, (struct sockaddr *)&a, sizeof(a))) {
    snprintf(detail, sizeof(detail), "connect to 127.0.0.1 failed: errno %d (%s)", errno, strerror(errno));
    emit("tcp-loopback-round-trip", "fail", detail, t0);
    kill(child, 9);
    return;
  }
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < size; j++) msg[j] = (char)((i + j) & 0xff);
    if (write(c, msg, size) != size || read_full(c, got, size) != size) {
      snprintf(detail, sizeof(detail), "connection broke after %d exchanges", i);
      emit("tcp-loopback-round-trip", "fail", detail, t0);
      kill(child, 9);
      return;
    }
    if (memcmp(msg, got, size)) {
      snprintf(detail, sizeof(detail), "echo mismatch at exchange %d", i);
      emit("tcp-loopback-round-trip", "fail", detail, t0);
      kill(child, 9);
      return;
    }
  }
  close(c);
  close(srv);
  waitpid(child, NULL, 0);
  snprintf(detail, sizeof(detail), "%d exchanges of %d B over 127.0.0.1:%d, all echoed byte-exact", n, size, ntohs(a.sin_port));
  emit("tcp-loopback-round-trip", "pass", detail, t0);
}

static void so_busy_poll(void) {
  double t0 = now_ms();
  char detail[256];
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int v = 50, got = 0;
  socklen_t len = sizeof(got);
  if (setsockopt(s, SOL_SOCKET, SO_BUSY_POLL, &v, sizeof(v))) {
    snprintf(detail, sizeof(detail), "setsockopt(SO_BUSY_POLL, 50) failed: errno %d (%s)", errno, strerror(errno));
    emit("so-busy-poll-setsockopt", errno == ENOPROTOOPT ? "skip" : "fail", detail, t0);
  } else if (getsockopt(s, SOL_SOCKET, SO_BUSY_POLL, &got, &len) || got != 50) {
    snprintf(detail, sizeof(detail), "setsockopt(SO_BUSY_POLL, 50) = 0 but getsockopt reads %d", got);
    emit("so-busy-poll-setsockopt", "fail", detail, t0);
  } else {
    emit("so-busy-poll-setsockopt", "pass", "setsockopt(SO_BUSY_POLL, 50) = 0; getsockopt reads 50", t0);
  }
  close(s);
}

int main(void) {
  struct utsname u;
  if (uname(&u) == 0) printf("PATCHBENCH-KERNEL %s %s\n", u.release, u.version);
  tcp_round_trip(1000, 64);
  so_busy_poll();
  printf("PATCHBENCH-DONE\n");
  fflush(stdout);
  return 0;
}
