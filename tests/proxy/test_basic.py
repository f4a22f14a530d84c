#!/usr/bin/env python3
"""The proxy's basics: --route, routing by host, 404/502, keep-alive and
pipelining, bodies both ways, forwarded headers, the access log.

  test_basic.py CERTROUTE [TEST...]
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import *  # noqa: E402,F401


def test_route_flag_and_404(h):
    a = h.whoami("a")
    b = h.whoami("b")
    _, ports = h.proxy(["--route", "a.test=127.0.0.1:%d" % a, "--route", "b.test=http://127.0.0.1:%d" % b])
    web = ports["web"]
    eq(request(web, host="a.test").whoami(), "a", "a.test")
    eq(request(web, host="B.test:80").whoami(), "b", "b.test with port and case")
    r = request(web, host="c.test")
    eq(r.status, 404, "unknown host")
    eq(r.text(), "404 page not found\n", "404 body")


def test_unreachable_upstream_is_502(h):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    _, ports = h.proxy(["--route", "x.test=127.0.0.1:%d" % port])
    r = request(ports["web"], host="x.test")
    eq(r.status, 502, "status")


def test_keepalive_and_pipelining(h):
    a = h.whoami("a")
    _, ports = h.proxy(["--route", "a.test=127.0.0.1:%d" % a])
    s = connect(ports["web"])
    try:
        for i in range(20):
            s.sendall(build_request(path="/k%d" % i, host="a.test"))
            r = read_response(s)
            eq(r.status, 200, "keep-alive request %d" % i)
            check("GET /k%d HTTP/1.1" % i in r.text(), "path forwarded")
        # Three pipelined requests in one write.
        s.sendall(b"".join(build_request(path="/p%d" % i, host="a.test") for i in range(3)))
        buf = b""
        for i in range(3):
            r = read_response(s)
            eq(r.status, 200, "pipelined %d" % i)
            check("GET /p%d HTTP/1.1" % i in r.text() + getattr(r, "rest", b"").decode(), "order")
            if getattr(r, "rest", b""):
                # read_response may have read ahead: push it back via a fresh parse
                break
    finally:
        s.close()


def test_pipelined_in_one_write_answered_in_order(h):
    a = h.whoami("a")
    _, ports = h.proxy(["--route", "a.test=127.0.0.1:%d" % a])
    s = connect(ports["web"])
    s.sendall(b"".join(build_request(path="/p%d" % i, host="a.test") for i in range(3)) +
              build_request(path="/last", host="a.test", close=True))
    data = b""
    s.settimeout(10)
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    text = data.decode(errors="replace")
    positions = [text.find("GET /p%d " % i) for i in range(3)] + [text.find("GET /last ")]
    check(all(p >= 0 for p in positions), "all four answered: %s" % positions)
    eq(positions, sorted(positions), "answers in request order")
    eq(text.count("HTTP/1.1 200 OK"), 4, "four responses")


def test_request_and_response_bodies(h):
    a = h.whoami("a")
    _, ports = h.proxy(["--route", "a.test=127.0.0.1:%d" % a])
    web = ports["web"]
    body = os.urandom(300000)
    r = request(web, "POST", "/echo-body", host="a.test", body=body)
    eq(r.status, 200, "status")
    eq(r.body, body, "content-length body echoed")
    # A chunked request body, sent in pieces.
    s = connect(web)
    s.sendall(b"POST /echo-body HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n")
    for part in (b"hello ", b"chunked ", b"world"):
        s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
    s.sendall(b"0\r\n\r\n")
    r = read_response(s)
    eq(r.body, b"hello chunked world", "chunked body echoed")
    s.close()
    # Large and chunked responses.
    r = request(web, path="/data?size=1000000", host="a.test")
    eq(len(r.body), 1000000, "1 MB response")
    r = request(web, path="/data?size=70000&chunked=1", host="a.test")
    eq(len(r.body), 70000, "chunked response")


def test_body_until_close_ends_with_the_server(h):
    # A response with neither Content-Length nor chunked ends when the
    # server closes. Its last bytes and the close often arrive together:
    # the proxy must still see the end at once (it used to wait for the
    # upstream timeout when both came with one readiness edge).
    body = {"small": b"hello until close", "large": os.urandom(100000)}
    ls = raw_backend(lambda c, head: c.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" +
        body["large" if b"GET /large" in head else "small"]))
    try:
        _, ports = h.proxy(["--route", "x.test=127.0.0.1:%d" % ls.getsockname()[1], "--upstream-response-timeout", "30s"])
        for i in range(10):
            name = "large" if i % 2 else "small"
            r = request(ports["web"], path="/" + name, host="x.test", timeout=5)
            eq(r.status, 200, "status of until-close response %d" % i)
            check(r.body == body[name], "until-close body %d complete (%d bytes)" % (i, len(r.body)))
    finally:
        ls.close()


def test_forwarded_headers(h):
    a = h.whoami("a")
    _, ports = h.proxy(["--route", "a.test=127.0.0.1:%d" % a])
    r = request(ports["web"], host="a.test", headers=[("X-Forwarded-For", "6.6.6.6"), ("Connection", "close, X-Drop"),
                                                      ("X-Drop", "1"), ("Keep-Alive", "timeout=5")])
    t = r.text()
    check("X-Forwarded-For: 127.0.0.1" in t, "client IP in X-Forwarded-For:\n" + t)
    check("6.6.6.6" not in t, "an untrusted client's X-Forwarded-For is replaced")
    check("X-Forwarded-Proto: http" in t, "proto")
    check("X-Forwarded-Host: a.test" in t, "host")
    check("X-Real-Ip: 127.0.0.1" in t, "real ip")
    check("X-Drop" not in t, "headers named in Connection are removed")
    check("Keep-Alive" not in t, "hop-by-hop removed")


def test_trusted_ips_keep_forwarded_for(h):
    a = h.whoami("a")
    _, ports = h.proxy(["--route", "a.test=127.0.0.1:%d" % a, "--trusted-ips", "127.0.0.1/32"])
    t = request(ports["web"], host="a.test", headers=[("X-Forwarded-For", "6.6.6.6")]).text()
    check("X-Forwarded-For: 6.6.6.6, 127.0.0.1" in t, "appended:\n" + t)


def test_access_log(h):
    a = h.whoami("a")
    log = os.path.join(h.tmp, "access.log")
    p, ports = h.proxy(["--route", "a.test=127.0.0.1:%d" % a, "--access-log", log, "--access-log-format", "json"])
    request(ports["web"], path="/logged?x=1", host="a.test")
    request(ports["web"], path="/nothing", host="none.test")
    wait_for(lambda: os.path.exists(log) and open(log).read().count("\n") >= 2, what="two log lines")
    import json
    # Each worker writes its own lines after its answer went out: the two
    # requests' lines may come in either order.
    lines = {l["path"]: l for l in (json.loads(l) for l in open(log).read().splitlines())}
    eq(sorted(lines), ["/logged?x=1", "/nothing"], "paths")
    first = lines["/logged?x=1"]
    eq(first["status"], 200, "first status")
    eq(first["router"], "route1@file", "router")
    check(first["upstream"].startswith("http://127.0.0.1:"), "upstream")
    eq(lines["/nothing"]["status"], 404, "second status")


def test_graceful_shutdown_finishes_inflight(h):
    a = h.whoami("a")
    p, ports = h.proxy(["--route", "a.test=127.0.0.1:%d" % a])
    s = connect(ports["web"])
    s.sendall(build_request(path="/slow?wait=700ms", host="a.test", close=True))
    import time
    time.sleep(0.2)
    p.p.send_signal(signal.SIGTERM)
    r = read_response(s)
    eq(r.status, 200, "in-flight request completed")
    s.close()
    eq(p.p.wait(10), 0, "exit status after drain")


if __name__ == "__main__":
    run_tests(globals())
