#!/usr/bin/env python3
"""Host-kernel probes for patchbench; prints one JSON object per line.

tcp-loopback-round-trip: N request/response exchanges over 127.0.0.1 with
  byte-exact echo checks.
so-busy-poll-setsockopt: setsockopt(SOL_SOCKET, SO_BUSY_POLL, 50) then
  getsockopt must read 50 back.
"""
import json
import socket
import sys
import threading
import time

SO_BUSY_POLL = getattr(socket, "SO_BUSY_POLL", 46)


def emit(name, status, detail, t0):
    print(json.dumps({"name": name, "status": status, "detail": detail,
                      "durationMs": round((time.monotonic() - t0) * 1000, 3)}), flush=True)


def tcp_round_trip(n=1000, size=64):
    t0 = time.monotonic()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve():
        conn, _ = srv.accept()
        with conn:
            while True:
                buf = b""
                while len(buf) < size:
                    chunk = conn.recv(size - len(buf))
                    if not chunk:
                        return
                    buf += chunk
                conn.sendall(buf)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(n):
            msg = bytes([(i + j) % 256 for j in range(size)])
            c.sendall(msg)
            got = b""
            while len(got) < size:
                chunk = c.recv(size - len(got))
                if not chunk:
                    raise RuntimeError(f"connection closed after {i} exchanges")
                got += chunk
            if got != msg:
                raise RuntimeError(f"echo mismatch at exchange {i}")
        c.close()
        emit("tcp-loopback-round-trip", "pass",
             f"{n} exchanges of {size} B over 127.0.0.1:{port}, all echoed byte-exact", t0)
    except Exception as e:  # noqa: BLE001 - every failure becomes a result
        emit("tcp-loopback-round-trip", "fail", f"{type(e).__name__}: {e}", t0)
    finally:
        srv.close()


def so_busy_poll():
    t0 = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_BUSY_POLL, 50)
        got = s.getsockopt(socket.SOL_SOCKET, SO_BUSY_POLL)
        if got == 50:
            emit("so-busy-poll-setsockopt", "pass", "setsockopt(SO_BUSY_POLL, 50) = 0; getsockopt reads 50", t0)
        else:
            emit("so-busy-poll-setsockopt", "fail", f"setsockopt(SO_BUSY_POLL, 50) = 0 but getsockopt reads {got}", t0)
    except OSError as e:
        emit("so-busy-poll-setsockopt", "fail", f"setsockopt(SO_BUSY_POLL, 50) failed: errno {e.errno} ({e.strerror})", t0)
    finally:
        s.close()


if __name__ == "__main__":
    which = sys.argv[1:] or ["tcp-loopback-round-trip", "so-busy-poll-setsockopt"]
    if "tcp-loopback-round-trip" in which:
        tcp_round_trip()
    if "so-busy-poll-setsockopt" in which:
        so_busy_poll()
