"""The patchbench guest agent: runs inside a booted kernel as PID 1's successor.

It reads one JSON request per line from the virtio-serial port named
"patchbench.agent" and answers each with one JSON line, so command output
and exit status never pass through the serial console, where kernel messages
could cut into them. Requests come only from the runner that started this
guest; commands are argv arrays, never shell strings.

  {"id": 1, "op": "exec", "argv": [...], "timeoutMs": 30000, "input": "<base64>"}
  -> {"id": 1, "code": 0, "signal": null, "stdout": "<base64>", "stderr": "<base64>",
      "timedOut": false, "durationMs": 12}
  {"id": 2, "op": "write", "path": "/proc/sys/net/core/busy_read", "data": "50"} -> {"id": 2, "ok": true}
  {"id": 3, "op": "read", "path": "/proc/net/snmp"} -> {"id": 3, "ok": true, "data": "..."}
On start it sends {"hello": true, "kernel": ..., "bootId": ...}.
"""

import base64
import json
import os
import signal
import subprocess
import time

PORT_NAME = "patchbench.agent"
MAX_OUTPUT = 4 * 1024 * 1024


def find_port():
    root = "/sys/class/virtio-ports"
    for _ in range(100):
        try:
            for dev in sorted(os.listdir(root)):
                with open(os.path.join(root, dev, "name")) as f:
                    if f.read().strip() == PORT_NAME:
                        return "/dev/" + dev
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("patchbench agent: no virtio port named " + PORT_NAME)


def read_text(path):
    with open(path) as f:
        return f.read()


def run(req):
    argv = req["argv"]
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return {"error": "argv must be a non-empty list of strings"}
    timeout = req.get("timeoutMs")
    data = base64.b64decode(req["input"]) if req.get("input") else b""
    started = time.monotonic()
    try:
        child = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, cwd=req.get("cwd") or "/tmp",
            env=dict(os.environ, **(req.get("env") or {})),
        )
    except OSError as e:
        return {"code": None, "signal": None, "stdout": "", "stderr": base64.b64encode(str(e).encode()).decode(),
                "timedOut": False, "durationMs": 0, "spawnError": e.strerror or str(e)}
    timed_out = False
    try:
        out, err = child.communicate(data, timeout=None if timeout is None else timeout / 1000)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            pass
        out, err = child.communicate()
    code = child.returncode
    return {
        "code": code if code is not None and code >= 0 else None,
        "signal": signal.Signals(-code).name if code is not None and code < 0 else None,
        "stdout": base64.b64encode(out[-MAX_OUTPUT:]).decode(),
        "stderr": base64.b64encode(err[-MAX_OUTPUT:]).decode(),
        "timedOut": timed_out,
        "durationMs": int((time.monotonic() - started) * 1000),
    }


def handle(req):
    op = req.get("op")
    if op == "exec":
        return run(req)
    if op == "write":
        with open(req["path"], "w") as f:
            f.write(req["data"])
        return {"ok": True}
    if op == "read":
        return {"ok": True, "data": read_text(req["path"])}
    if op == "ping":
        return {"ok": True}
    return {"error": "unknown op " + repr(op)}


def main():
    fd = os.open(find_port(), os.O_RDWR)
    port_in = os.fdopen(fd, "rb", buffering=0)
    port_out = os.fdopen(os.dup(fd), "wb", buffering=0)

    def send(obj):
        port_out.write((json.dumps(obj) + "\n").encode())

    boot_id = read_text("/proc/sys/kernel/random/boot_id").strip()
    send({"hello": True, "kernel": read_text("/proc/sys/kernel/osrelease").strip(),
          "version": read_text("/proc/version").strip(), "bootId": boot_id})
    buf = b""
    while True:
        chunk = port_in.read(65536)
        if not chunk:
            time.sleep(0.05)  # host side not connected yet, or between connections
            continue
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not line.strip():
                continue
            try:
                req = json.loads(line)
                rid = req.get("id")
            except ValueError:
                send({"error": "bad request line"})
                continue
            try:
                res = handle(req)
            except Exception as e:  # an answer for every request: the runner waits for it
                res = {"error": "%s: %s" % (type(e).__name__, e)}
            res["id"] = rid
            send(res)


main()
