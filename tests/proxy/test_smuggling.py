#!/usr/bin/env python3
"""Request smuggling and malformed framing, both directions.

Every malformed request is sent as exact bytes on a raw socket; the proxy
must answer with the right 4xx/5xx, say "Connection: close", close the
connection, and never let a second (smuggled) request reach the backend. The
backend is whoami behind a recording relay, so the test sees every byte the
proxy sent upstream. On the response side, raw backends written here send
ambiguous framing; the proxy must answer 502 and pass nothing of it through.

  test_smuggling.py CERTROUTE [TEST...]
"""
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import *  # noqa: E402,F401


class Recorder:
    """A TCP relay in front of a backend that keeps every byte sent to it."""

    def __init__(self, target_port):
        self.target = target_port
        self.lock = threading.Lock()
        self.data = b""
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()

    def _pump(self, src, dst, record):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                if record:
                    with self.lock:
                        self.data += d
                dst.sendall(d)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def take(self):
        with self.lock:
            d, self.data = self.data, b""
        return d


REQUEST_LINE = re.compile(rb"(?:^|\r\n)[A-Z]+ \S+ HTTP/1\.[01]\r\n")


def setup(h, extra=()):
    a = h.whoami("a")
    rec = Recorder(a)
    _, ports = h.proxy(["--route", "a.test=127.0.0.1:%d" % rec.port] + list(extra))
    return rec, ports["web"]


def send_and_read(port, raw, timeout=5.0):
    """Sends raw bytes (tolerating a reset once the proxy has answered),
    reads one response, then whether the connection got closed."""
    s = connect(port)
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = read_response(s, timeout=timeout)
        check(r is not None, "no response at all to %r" % raw[:80])
        rest = getattr(r, "rest", b"")
        s.settimeout(3)
        closed = False
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    closed = True
                    break
                rest += c
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
        return r, closed, rest
    finally:
        s.close()


def expect_rejected(port, rec, raw, status, what):
    r, closed, rest = send_and_read(port, raw)
    if isinstance(status, int):
        status = (status,)
    check(r.status in status, "%s: status %d, want %s (%r)" % (what, r.status, status, r.raw[:200]))
    eq((r.header("Connection") or "").lower(), "close", what + ": Connection header")
    check(closed, what + ": the connection is closed after the error")
    eq(rest, b"", what + ": nothing after the error response")
    time.sleep(0.05)  # let the relay see anything the proxy might have sent
    up = rec.take()
    check(b"smuggled" not in up.lower(), "%s: the smuggled request reached the backend: %r" % (what, up[:400]))
    check(len(REQUEST_LINE.findall(up)) <= 1, "%s: more than one request upstream: %r" % (what, up[:400]))
    return r, up


def still_serves(port, rec):
    r = request(port, host="a.test", path="/after")
    eq(r.status, 200, "a good request after the bad ones")
    eq(r.whoami(), "a", "answered by the backend")
    rec.take()


SMUGGLE = b"GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n"


def req(headers, body=b"", line=b"POST /x HTTP/1.1"):
    return line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


# ---- request framing -------------------------------------------------------------


def test_content_length_with_transfer_encoding(h):
    rec, web = setup(h)
    host = b"Host: a.test"
    # CL.TE: a front end reading Content-Length forwards the smuggled prefix.
    body = b"0\r\n\r\n" + SMUGGLE
    expect_rejected(web, rec, req([host, b"Content-Length: %d" % len(body), b"Transfer-Encoding: chunked"], body),
                    400, "CL.TE")
    # TE.CL: a back end reading Content-Length sees the chunk as a request.
    chunk = SMUGGLE
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk)
    expect_rejected(web, rec, req([host, b"Transfer-Encoding: chunked", b"Content-Length: 4"], body), 400, "TE.CL")
    # Either order, any case, and a TE that is not chunked.
    expect_rejected(web, rec, req([host, b"content-length: 5", b"TRANSFER-ENCODING: identity"], b"hello" + SMUGGLE),
                    400, "CL with TE identity")
    expect_rejected(web, rec, req([host, b"Content-Length: 0", b"Transfer-Encoding: chunked"], b"0\r\n\r\n" + SMUGGLE),
                    400, "CL 0 with TE")
    still_serves(web, rec)


def test_duplicate_content_length(h):
    rec, web = setup(h)
    host = b"Host: a.test"
    expect_rejected(web, rec, req([host, b"Content-Length: 5", b"Content-Length: 5"], b"hello" + SMUGGLE), 400,
                    "same value twice")
    body = b"hello" + SMUGGLE
    expect_rejected(web, rec, req([host, b"Content-Length: 5", b"Content-Length: %d" % len(body)], body), 400,
                    "different values")
    expect_rejected(web, rec, req([host, b"Content-Length: %d" % len(body), b"Content-Length: 5"], body), 400,
                    "different values, longer first")
    expect_rejected(web, rec, req([host, b"Content-Length: 5, 5"], b"hello" + SMUGGLE), 400, "a list 5, 5")
    expect_rejected(web, rec, req([host, b"Content-Length: 5,%d" % len(body)], body), 400, "a list of two")
    still_serves(web, rec)


def test_malformed_content_length(h):
    rec, web = setup(h)
    for value in (b"+5", b"-1", b"1 2", b"0x10", b"", b"5.0", b"5a", b"\xd9\xa5", b"99999999999999999999999"):
        expect_rejected(web, rec, req([b"Host: a.test", b"Content-Length: " + value], b"hello" + SMUGGLE), 400,
                        "Content-Length %r" % value)
    still_serves(web, rec)


def test_transfer_encoding_not_final_chunked(h):
    rec, web = setup(h)
    host = b"Host: a.test"
    body = b"5\r\nhello\r\n0\r\n\r\n" + SMUGGLE
    cases = [
        (b"chunked, identity", (400,)),     # chunked is not the last coding
        (b"gzip, chunked", (501,)),         # a coding the proxy does not implement
        (b"identity", (501,)),
        (b"xchunked", (501,)),
        (b"chunked, chunked", (400,)),
        (b"chunked,", (400,)),              # an empty list element
        (b"chunked;q=1", (400,)),           # parameters
        (b"\"chunked\"", (400,)),
        (b"chunked\x0b", (400,)),           # VT is not whitespace
    ]
    for te, status in cases:
        expect_rejected(web, rec, req([host, b"Transfer-Encoding: " + te], body), status, "TE %r" % te)
    # Split over two fields: read as one list.
    expect_rejected(web, rec, req([host, b"Transfer-Encoding: chunked", b"Transfer-Encoding: identity"], body), 400,
                    "TE chunked then identity in two fields")
    expect_rejected(web, rec, req([host, b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked"], body), 501,
                    "TE gzip then chunked in two fields")
    # chunked on HTTP/1.0 (RFC 9112 6.1: no Transfer-Encoding before 1.1).
    expect_rejected(web, rec, req([host, b"Transfer-Encoding: chunked"], body, line=b"POST /x HTTP/1.0"), 400,
                    "chunked on HTTP/1.0")
    # The sensible status line and a short text body.
    r, _, _ = send_and_read(web, req([host, b"Transfer-Encoding: gzip, chunked"], body))
    eq(r.reason, "Not Implemented", "501 reason")
    still_serves(web, rec)


def test_header_syntax(h):
    rec, web = setup(h)
    cases = [
        # obs-fold: a continuation line could hide a header from one parser.
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n", "obs-fold with SP"),
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nX-A: 1\r\n\tfolded\r\n\r\n", "obs-fold with HTAB"),
        # bare LF, bare CR
        (b"GET / HTTP/1.1\nHost: a.test\n\n", "bare LF everywhere"),
        (b"GET / HTTP/1.1\r\nHost: a.test\nX-A: 1\r\n\r\n", "bare LF after a header"),
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nX-A: 1\r\n\n", "bare LF as the empty line"),
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nX-A: 1\rX-B: 2\r\n\r\n", "bare CR in a header"),
        (b"GET / HTTP/1.1\rHost: a.test\r\n\r\n", "bare CR after the request line"),
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nX-A: a\rb\r\n\r\n", "bare CR in a value"),
        # invalid bytes in names
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nX\x01Y: 1\r\n\r\n", "control byte in a name"),
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nX-A(b): 1\r\n\r\n", "parenthesis in a name"),
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nX\xffY: 1\r\n\r\n", "obs-text in a name"),
        (b"GET / HTTP/1.1\r\nHost: a.test\r\n: empty\r\n\r\n", "empty name"),
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nX\x00A: 1\r\n\r\n", "NUL in a name"),
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nno colon here\r\n\r\n", "line without a colon"),
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nX-A: a\x00b\r\n\r\n", "NUL in a value"),
        # whitespace before the colon
        (b"POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", "SP before the colon"),
        (b"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length\t: 0\r\n\r\n", "HTAB before the colon"),
        (b"GET / HTTP/1.1\r\nHost : a.test\r\n\r\n", "SP before the colon of Host"),
        # Host problems
        (b"GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", "two Host headers"),
        (b"GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", "no Host on 1.1"),
        (b"GET / HTTP/1.1\r\nHost: a.test/x\r\n\r\n", "slash in Host"),
        (b"GET / HTTP/1.1\r\nHost: a@a.test\r\n\r\n", "userinfo in Host"),
        # the request line
        (b"GET  / HTTP/1.1\r\nHost: a.test\r\n\r\n", "two spaces after the method"),
        (b"GET / HTTP/1.1 \r\nHost: a.test\r\n\r\n", "space after the version"),
        (b"GET /a b HTTP/1.1\r\nHost: a.test\r\n\r\n", "space in the target"),
        (b"GET /\x01 HTTP/1.1\r\nHost: a.test\r\n\r\n", "control byte in the target"),
        (b"G(T / HTTP/1.1\r\nHost: a.test\r\n\r\n", "bad method byte"),
        (b"GET / http/1.1\r\nHost: a.test\r\n\r\n", "lowercase version"),
        (b"GET / HTTP/1.1x\r\nHost: a.test\r\n\r\n", "junk after the version"),
        (b"GET /\r\nHost: a.test\r\n\r\n", "HTTP/0.9 style line"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40, "a TLS ClientHello"),
    ]
    for raw, what in cases:
        expect_rejected(web, rec, raw, 400, what)
    still_serves(web, rec)


def test_versions(h):
    rec, web = setup(h)
    for v in (b"HTTP/2.0", b"HTTP/1.2", b"HTTP/0.9", b"HTTP/3.0", b"HTTP/1.9"):
        r, _ = expect_rejected(web, rec, b"GET / " + v + b"\r\nHost: a.test\r\n\r\n", 505, "version %r" % v)
        eq(r.reason, "HTTP Version Not Supported", "505 reason")
    for v in (b"HTTP/1.x", b"HTTP/11", b"HTTPS/1.1", b"HTTP/1.10"):
        expect_rejected(web, rec, b"GET / " + v + b"\r\nHost: a.test\r\n\r\n", 400, "version %r" % v)
    still_serves(web, rec)


def test_head_size_statuses(h):
    rec, web = setup(h)
    r, _ = expect_rejected(web, rec, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a.test\r\n\r\n", 414,
                           "request line over 8 KiB")
    eq(r.reason, "URI Too Long", "414 reason")
    r, _ = expect_rejected(web, rec, b"GET / HTTP/1.1\r\nHost: a.test\r\nX-Big: " + b"b" * 40000 + b"\r\n\r\n", 431,
                           "one header over 32 KiB")
    eq(r.reason, "Request Header Fields Too Large", "431 reason")
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    expect_rejected(web, rec, b"GET / HTTP/1.1\r\nHost: a.test\r\n" + many + b"\r\n", 431, "150 header fields")
    still_serves(web, rec)


# ---- chunked request bodies ----------------------------------------------------------


def chunked_post(body):
    return b"POST /echo-body HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n" + body


def test_malformed_chunks(h):
    rec, web = setup(h)
    cases = [
        (b"g\r\nhello\r\n0\r\n\r\n", "size g"),
        (b"-1\r\nhello\r\n0\r\n\r\n", "size -1"),
        (b"0x1\r\nh\r\n0\r\n\r\n", "size 0x1"),
        (b"+1\r\nh\r\n0\r\n\r\n", "size +1"),
        (b"1 1\r\nh\r\n0\r\n\r\n", "size with a space inside"),
        (b"1 \r\nh\r\n0\r\n\r\n", "space before CRLF"),
        (b"\r\nh\r\n0\r\n\r\n", "empty size"),
        (b"fffffffffffffffffffe\r\nh\r\n0\r\n\r\n", "20 hex digits"),
        (b"00000000000000000001\r\nh\r\n0\r\n\r\n", "20 digits with leading zeros"),
        (b"5\r\nhelloXX0\r\n\r\n", "no CRLF after the data"),
        (b"5\r\nhello\n0\r\n\r\n", "bare LF after the data"),
        (b"5\r\nhello\r0\r\n\r\n", "bare CR after the data"),
        (b"5\nhello\r\n0\r\n\r\n", "bare LF after the size"),
        (b"3\r\nhello\r\n0\r\n\r\n", "data longer than the size"),
        (b"5;a=\"x\r\nhello\r\n0\r\n\r\n", "unterminated quoted extension"),
        (b"5;\x01\r\nhello\r\n0\r\n\r\n", "control byte in an extension"),
        (b"0\r\nX-T: 1\nX: 2\r\n\r\n", "bare LF in a trailer"),
        (b"0\r\n folded\r\n\r\n", "obs-fold in a trailer"),
        (b"0\r\nX-T : 1\r\n\r\n", "space before the colon of a trailer"),
        (b"0\r\n\r\r\n", "bare CR at the end"),
    ]
    for body, what in cases:
        expect_rejected(web, rec, chunked_post(body + SMUGGLE), 400, "chunked: " + what)
    # The same with the head and body in separate packets (the head is then
    # forwarded before the error is found; the body must stop there).
    for body, what in cases[:4] + cases[9:11]:
        s = connect(web)
        s.sendall(chunked_post(b""))
        time.sleep(0.05)
        try:
            s.sendall(b"1\r\na\r\n" + body + SMUGGLE)
        except OSError:
            pass
        r = read_response(s)
        s.close()
        eq(r.status, 400, "split: " + what)
        time.sleep(0.05)
        up = rec.take()
        check(up.startswith(b"POST /echo-body HTTP/1.1\r\n"), "split %s: the head went upstream first: %r" % (what, up[:80]))
        check(b"smuggled" not in up.lower(), "split %s: the smuggled request went upstream: %r" % (what, up))
    still_serves(web, rec)


def test_oversized_chunk_extensions(h):
    rec, web = setup(h)
    # One chunk's extension over the 4 KiB limit.
    expect_rejected(web, rec, chunked_post(b"1;" + b"a" * 5000 + b"\r\nx\r\n0\r\n\r\n"), 400, "one long extension")
    # Many small extensions adding up (the limit is per body).
    body = b"".join(b"1;e=%s\r\nx\r\n" % (b"v" * 60) for _ in range(100)) + b"0\r\n\r\n"
    expect_rejected(web, rec, chunked_post(body), 400, "many extensions over the total")
    # Trailers count too.
    body = b"0\r\n" + b"".join(b"X-T%d: %s\r\n" % (i, b"t" * 100) for i in range(60)) + b"\r\n"
    expect_rejected(web, rec, chunked_post(body), 400, "many trailers")
    # Within the limits: a small extension and a trailer pass.
    s = connect(web)
    s.sendall(chunked_post(b"5;name=\"v a\\\"l\"\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"))
    r = read_response(s)
    s.close()
    eq(r.status, 200, "valid extensions and trailers")
    eq(r.body, b"hello", "decoded body")
    rec.take()


def test_pipelined_after_valid_body_is_a_separate_request(h):
    # The honest counterpart: bytes after a complete chunked body are the
    # next request, answered separately in order (not part of the body).
    rec, web = setup(h)
    s = connect(web)
    s.sendall(chunked_post(b"5\r\nhello\r\n0\r\n\r\n") + b"GET /second HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    r1 = read_response(s)
    eq(r1.body, b"hello", "first body")
    data = getattr(r1, "rest", b"")
    s.settimeout(5)
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    check(b"GET /second HTTP/1.1" in data, "second request answered: %r" % data[:200])
    # Same with Content-Length.
    s = connect(web)
    s.sendall(b"POST /echo-body HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhelloGET /third HTTP/1.1\r\n"
              b"Host: a.test\r\nConnection: close\r\n\r\n")
    r1 = read_response(s)
    eq(r1.body, b"hello", "CL body")
    r2 = read_response(s) if not getattr(r1, "rest", b"") else None
    if r2 is not None:
        check("GET /third HTTP/1.1" in r2.text(), "third answered")
    s.close()


# ---- response side -------------------------------------------------------------------


class RawBackend:
    """A backend answering every connection with fixed bytes after the head."""

    def __init__(self, response):
        self.response = response
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            c.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(65536)
                if not d:
                    return
                data += d
            c.sendall(self.response)
            time.sleep(0.5)
        except OSError:
            pass
        finally:
            c.close()


def test_bad_response_framing_is_502(h):
    marker = b"LEAKED-BODY"
    smuggled_resp = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nSMUGGLE"
    cases = [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n" + marker + b"\r\n0\r\n\r\n"
         + smuggled_resp, "CL with TE"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 11\r\n\r\n" + marker + smuggled_resp,
         "TE with CL"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Length: 11\r\n\r\n" + marker + smuggled_resp,
         "duplicate CL, same value"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Length: 40\r\n\r\n" + marker + smuggled_resp,
         "duplicate CL, different values"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 11, 11\r\n\r\n" + marker + smuggled_resp, "CL list"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: +11\r\n\r\n" + marker + smuggled_resp, "CL +11"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + marker, "chunked not last"),
        (b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 11\r\n\r\n" + marker, "obs-fold"),
        (b"HTTP/1.1 200 OK\nContent-Length: 11\n\n" + marker, "bare LF"),
        (b"HTTP/1.1 200 OK\r\nContent Length: 11\r\n\r\n" + marker, "space in a name"),
        (b"HTTP/1.1 200 OK\r\nContent-Length : 11\r\n\r\n" + marker, "space before the colon"),
        (b"HTTP/2.0 200 OK\r\nContent-Length: 11\r\n\r\n" + marker, "HTTP/2.0 status line"),
        (b"HTTP/1.1 20 OK\r\nContent-Length: 11\r\n\r\n" + marker, "two-digit status"),
        (b"garbage\r\n\r\n" + marker, "not HTTP at all"),
    ]
    backends = [RawBackend(resp) for resp, _ in cases]
    args = []
    for i, b in enumerate(backends):
        args += ["--route", "r%d.test=127.0.0.1:%d" % (i, b.port)]
    _, ports = h.proxy(args)
    web = ports["web"]
    for i, (_, what) in enumerate(cases):
        # Twice on one keep-alive connection: the second must not get a
        # response smuggled in by the first backend answer.
        s = connect(web)
        s.sendall(build_request(path="/", host="r%d.test" % i))
        r = read_response(s)
        eq(r.status, 502, what)
        check(marker not in r.raw + r.body, what + ": the bad response body was passed through")
        check(r.header("Content-Length") in (None, str(len(r.body))), what + ": own framing")
        rest = getattr(r, "rest", b"")
        check(b"SMUGGLE" not in rest, what + ": smuggled response bytes")
        try:
            s.sendall(build_request(path="/again", host="r%d.test" % i, close=True))
            r2 = read_response(s)
        except (OSError, AssertionError):
            r2 = None
        if r2 is not None:
            eq(r2.status, 502, what + " (second request)")
            check(b"SMUGGLE" not in r2.raw + r2.body, what + ": second response is the smuggled one")
        s.close()


class KeepAliveBackend:
    """Answers every request with `answer`; after the very first one,
    `after_first` (bytes nobody asked for) follows once, `delay` later."""

    def __init__(self, answer, after_first=b"", delay=0.1):
        self.answer, self.after_first, self.delay = answer, after_first, delay
        self.requests = []
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        data = b""
        try:
            c.settimeout(10)
            while True:
                while b"\r\n\r\n" not in data:
                    d = c.recv(65536)
                    if not d:
                        return
                    data += d
                head, _, data = data.partition(b"\r\n\r\n")
                self.requests.append(head.split(b"\r\n")[0])
                c.sendall(self.answer)
                if self.after_first:
                    extra, self.after_first = self.after_first, b""
                    time.sleep(self.delay)
                    c.sendall(extra)
        except OSError:
            pass
        finally:
            c.close()


def test_unsolicited_bytes_on_pooled_connection(h):
    # A backend that sends a second, unrequested response after the first
    # (or a body longer than its Content-Length, arriving late): the pooled
    # connection holds a response nobody asked for. The next client must
    # never get it as its answer.
    b = KeepAliveBackend(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                         b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nSMUGGLE")
    _, ports = h.proxy(["--route", "r.test=127.0.0.1:%d" % b.port, "--workers", "1"])
    web = ports["web"]
    r = request(web, host="r.test", path="/first")
    eq(r.body, b"ok", "first answer")
    time.sleep(0.4)  # the unsolicited response is now waiting on the pooled connection
    for i in range(3):
        r = request(web, host="r.test", path="/next%d" % i)
        check(r.body != b"SMUGGLE", "request %d got the unsolicited response of another request" % i)
        eq(r.status, 200, "request %d" % i)
        eq(r.body, b"ok", "request %d answered by its own response" % i)
    # A backend that closed its idle connection: the next request goes on a
    # new connection without an error.
    c = KeepAliveBackend(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    _, ports = h.proxy(["--route", "c.test=127.0.0.1:%d" % c.port, "--workers", "1"])
    eq(request(ports["web"], host="c.test").body, b"ok", "first")
    eq(request(ports["web"], host="c.test").body, b"ok", "second, pooled")


def test_truncated_response_body_closes_client(h):
    # Content-Length 100 but the backend closes after 10 bytes: the client
    # connection must be closed (it cannot carry another response), at once.
    b = RawBackend(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
    _, ports = h.proxy(["--route", "r.test=127.0.0.1:%d" % b.port])
    s = connect(ports["web"])
    s.sendall(build_request(host="r.test"))
    t0 = time.time()
    s.settimeout(5)
    data = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
    except ConnectionResetError:
        pass
    s.close()
    check(time.time() - t0 < 2, "closed when the backend closed (%.1fs)" % (time.time() - t0))
    check(data.startswith(b"HTTP/1.1 200 "), "the head was relayed")
    check(data.endswith(b"0123456789"), "the partial body, then the close: %r" % data[-40:])


def test_oversized_response_head_is_502(h):
    b = RawBackend(b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 40000 + b"\r\nContent-Length: 2\r\n\r\nok")
    _, ports = h.proxy(["--route", "r.test=127.0.0.1:%d" % b.port])
    r = request(ports["web"], host="r.test")
    eq(r.status, 502, "a 40 KB response head")
    check(b"bbbbbbbb" not in r.raw, "not passed through")


def test_body_left_after_upstream_failure_is_not_a_request(h):
    # The backend closes while the request body is still coming. The rest
    # of the body must never be parsed as the next request on the client
    # connection: the proxy answers and closes. (The smuggled request would
    # go to another route's backend, which records every byte.)
    ls = raw_backend(lambda c, head: None)  # closes after the head
    victim = Recorder(h.whoami("victim"))
    _, ports = h.proxy(["--route", "up.test=127.0.0.1:%d" % ls.getsockname()[1],
                        "--route", "victim.test=127.0.0.1:%d" % victim.port, "--workers", "1"])
    web = ports["web"]
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: victim.test\r\n\r\n"
    pad = b"p" * 100
    for framing in ("length", "chunked"):
        s = connect(web)
        if framing == "length":
            s.sendall(b"POST /up HTTP/1.1\r\nHost: up.test\r\nContent-Length: %d\r\n\r\n" %
                      (10 + len(pad) + len(smuggled)) + b"x" * 10)
            parts = [pad, smuggled]
        else:
            s.sendall(b"POST /up HTTP/1.1\r\nHost: up.test\r\nTransfer-Encoding: chunked\r\n\r\na\r\nxxxxxxxxxx\r\n")
            # The smuggled bytes are the data of a chunk whose size line came before.
            parts = [b"64\r\n" + pad + b"\r\n%x\r\n" % len(smuggled), smuggled]
        for part in parts:
            time.sleep(0.2)  # the backend has closed by now; the first write after makes it reset
            try:
                s.sendall(part)
            except OSError:
                break
        s.settimeout(3)
        data = b""
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                data += c
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
        check(data.startswith(b"HTTP/1.1 502 "), framing + ": 502: %r" % data[:100])
        eq(data.count(b"HTTP/1.1 "), 1, framing + ": one response, then the connection closed: %r" % data)
        time.sleep(0.1)
        check(b"smuggled" not in victim.take(), framing + ": the rest of the body reached another backend as a request")


def test_good_raw_backend_passes(h):
    # The same raw backend with a proper answer passes, so the 502s above are
    # about the framing, not the backend.
    b = RawBackend(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
    _, ports = h.proxy(["--route", "r.test=127.0.0.1:%d" % b.port])
    r = request(ports["web"], host="r.test")
    eq(r.status, 200, "status")
    eq(r.body, b"hello", "body")


if __name__ == "__main__":
    run_tests(globals())
