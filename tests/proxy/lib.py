"""Helpers for the proxy tests: start `certroute whoami` backends and
`certroute proxy` on loopback (port 0, the ports read from their first
lines), send requests over raw sockets, and a tiny test runner.

Every test module defines functions named test_*; run_tests() runs them in
order, prints one line per test and exits 1 when any failed. Processes
started through a Harness are stopped when the test ends, pass or fail.
"""
import os
import re
import signal
import socket
import threading
import subprocess
import sys
import tempfile
import time
import traceback

CERTROUTE = os.environ.get("CERTROUTE", "certroute")
HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpus", "traefik-dynamic"))


class Proc:
    def __init__(self, args, tag, **kw):
        self.args = args
        self.tag = tag
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
        self.lines = []

    def read_line(self, timeout=10.0):
        """The next stdout line (blocking up to timeout)."""
        import select
        end = time.time() + timeout
        buf = b""
        while time.time() < end:
            r, _, _ = select.select([self.p.stdout], [], [], 0.1)
            if r:
                c = self.p.stdout.read1(1) if hasattr(self.p.stdout, "read1") else self.p.stdout.read(1)
                if not c:
                    break
                buf += c
                if c == b"\n":
                    line = buf.decode(errors="replace").rstrip("\n")
                    self.lines.append(line)
                    return line
            elif self.p.poll() is not None:
                break
        err = self.p.stderr.read().decode(errors="replace") if self.p.poll() is not None else ""
        raise AssertionError("%s: no output line (exit %s) %s %s" % (self.tag, self.p.poll(), buf, err))

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


class Harness:
    """Starts processes for one test and stops them afterwards."""

    def __init__(self):
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="certroute-proxy-test.")

    def close(self):
        import shutil
        for p in reversed(self.procs):
            p.stop()
            for s in (p.p.stdout, p.p.stderr):
                try:
                    s.close()
                except Exception:
                    pass
        self.procs = []
        shutil.rmtree(self.tmp, ignore_errors=True)
        os.makedirs(self.tmp, exist_ok=True)

    def cleanup(self):
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)

    def whoami(self, name):
        """Starts a backend; returns its port."""
        p = Proc([CERTROUTE, "whoami", "--listen", "127.0.0.1:0", "--name", name], "whoami " + name)
        self.procs.append(p)
        line = p.read_line()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert m, "whoami said: " + line
        return int(m.group(1))

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def proxy(self, args, entry_points=("web",), expect_fail=False):
        """Starts `certroute proxy ARGS` with each entry point on port 0;
        returns (Proc, {entry point: port})."""
        full = [CERTROUTE, "proxy"]
        if "--workers" not in args:
            full += ["--workers", "2"]
        if "--access-log" not in args:
            full += ["--access-log", "off"]
        if not any(a.startswith("--entrypoint") for a in args):
            for ep in entry_points:
                full += ["--entrypoint", ep + "=127.0.0.1:0"]
        full += list(args)
        p = Proc(full, "proxy")
        self.procs.append(p)
        if expect_fail:
            p.p.wait(20)
            return p, {}
        ports = {}
        n = len([a for a in full if a.startswith("--entrypoint")])
        for _ in range(n):
            line = p.read_line()
            m = re.search(r"proxy: (\S+): listening on 127\.0\.0\.1:(\d+)", line)
            assert m, "proxy said: " + line
            ports[m.group(1)] = int(m.group(2))
        return p, ports


class Response:
    def __init__(self, status, reason, headers, body, raw):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body
        self.raw = raw

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def headers_named(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def text(self):
        return self.body.decode(errors="replace")

    def whoami(self):
        """The whoami backend's Name line, or None."""
        m = re.search(r"^Name: (.*)$", self.text(), re.M)
        return m.group(1) if m else None


def read_response(sock, method="GET", timeout=10.0):
    """Reads one response from a socket (Content-Length, chunked or close)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        c = sock.recv(65536)
        if not c:
            if not data:
                return None
            raise AssertionError("connection closed inside a response head: %r" % data)
        data += c
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
    assert m, "bad status line %r" % lines[0]
    status = int(m.group(1))
    headers = []
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers.append((k, v.strip()))
    r = Response(status, m.group(2), headers, b"", head)
    if 100 <= status < 200 and status != 101:
        # An interim response: hand back the rest too.
        r.rest = rest
        return r
    te = r.header("Transfer-Encoding")
    cl = r.header("Content-Length")
    if method == "HEAD" or status in (204, 304) or status == 101:
        r.rest = rest
        return r
    if te and "chunked" in te.lower():
        body = b""
        buf = rest
        while True:
            while b"\r\n" not in buf:
                buf += _recv(sock)
            line, _, buf = buf.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while not buf.startswith(b"\r\n") and b"\r\n\r\n" not in buf:
                    buf += _recv(sock)
                if buf.startswith(b"\r\n"):
                    buf = buf[2:]
                else:
                    buf = buf.partition(b"\r\n\r\n")[2]
                break
            while len(buf) < size + 2:
                buf += _recv(sock)
            body += buf[:size]
            buf = buf[size + 2:]
        r.body = body
        r.rest = buf
    elif cl is not None:
        n = int(cl)
        parts = [rest]
        have = len(rest)
        while have < n:
            c = _recv(sock)
            parts.append(c)
            have += len(c)
        buf = b"".join(parts)
        r.body = buf[:n]
        r.rest = buf[n:]
    else:
        parts = [rest]
        while True:
            c = sock.recv(65536)
            if not c:
                break
            parts.append(c)
        r.body = b"".join(parts)
        r.rest = b""
    return r


def _recv(sock):
    c = sock.recv(65536)
    if not c:
        raise AssertionError("connection closed inside a body")
    return c


def raw_backend(answer):
    """A server on 127.0.0.1 that reads each connection's request head and
    calls answer(conn, head); the connection is closed after. Returns the
    listening socket (getsockname()[1] is its port; close() stops it)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = c.recv(4096)
                if not chunk:
                    break
                head += chunk
            try:
                answer(c, head)
            finally:
                c.close()
    threading.Thread(target=serve, daemon=True).start()
    return ls


def connect(port, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request(port, method="GET", path="/", host="example.com", headers=(), body=None, raw=None, timeout=10.0):
    """One request on a new connection (Connection: close unless given)."""
    s = connect(port)
    try:
        if raw is None:
            raw = build_request(method, path, host, headers, body, close=True)
        s.sendall(raw)
        return read_response(s, method, timeout)
    finally:
        s.close()


def build_request(method="GET", path="/", host="example.com", headers=(), body=None, close=False):
    lines = ["%s %s HTTP/1.1" % (method, path)]
    if host is not None:
        lines.append("Host: " + host)
    names = [k.lower() for k, _ in headers]
    lines += ["%s: %s" % (k, v) for k, v in headers]
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        lines.append("Content-Length: %d" % len(body))
    if close and "connection" not in names:
        lines.append("Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
    if body is not None:
        raw += body if isinstance(body, bytes) else body.encode()
    return raw


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(got, want, what="value"):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


class Skip(Exception):
    """Raised by a test that does not apply here; reported as skipped."""


SANITIZED = bool(os.environ.get("CERTROUTE_SANITIZED"))


def run_tests(module_globals):
    global CERTROUTE
    if len(sys.argv) > 1:
        CERTROUTE = os.path.abspath(sys.argv[1])
        module_globals["CERTROUTE"] = CERTROUTE
    only = sys.argv[2:] if len(sys.argv) > 2 else None
    tests = [(n, f) for n, f in module_globals.items() if n.startswith("test_") and callable(f)]
    failed = 0
    for name, fn in tests:
        if only and name not in only:
            continue
        h = Harness()
        t0 = time.time()
        try:
            fn(h)
            print("ok   %s (%.1fs)" % (name, time.time() - t0), flush=True)
        except Skip as why:
            print("skip %s: %s" % (name, why), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
            for p in h.procs:
                if p.p.poll() is not None:
                    try:
                        err = p.p.stderr.read().decode(errors="replace")
                        if err:
                            print("--- %s stderr:\n%s" % (p.tag, err[-12000:]))
                    except Exception:
                        pass
        finally:
            h.close()
            h.cleanup()
    print("%d failed" % failed if failed else "all passed")
    sys.exit(1 if failed else 0)
