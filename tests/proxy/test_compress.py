#!/usr/bin/env python3
"""The compress middleware: gzip, brotli and zstd by Accept-Encoding, streamed
(Content-Length and chunked upstream bodies), minResponseBodyBytes, types
excluded, responses already encoded left alone, HTTP/1.0 clients.

  test_compress.py CERTROUTE [TEST...]
"""
import gzip
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import *  # noqa: E402,F401


def setup(h, fields="{}"):
    b = h.whoami("z")
    f = h.write("c.yml", """
http:
  routers:
    r: {rule: "Host(`c.test`)", service: s, middlewares: [z]}
  middlewares:
    z: {compress: %s}
  services:
    s: {loadBalancer: {servers: [{url: "http://127.0.0.1:%d"}]}}
""" % (fields, b))
    _, ports = h.proxy([f])
    return ports["web"]


def test_gzip_length_and_chunked_bodies(h):
    web = setup(h)
    for path in ("/data?size=200000", "/data?size=200000&chunked=1"):
        r = request(web, path=path, host="c.test", headers=[("Accept-Encoding", "gzip")])
        eq(r.status, 200, path)
        eq(r.header("Content-Encoding"), "gzip", path + " encoding")
        eq(r.header("Content-Length"), None, path + ": the length changed, so no Content-Length")
        eq(r.header("Vary"), "Accept-Encoding", "vary")
        check(len(r.body) < 10000, "compressed: %d bytes" % len(r.body))
        eq(gzip.decompress(r.body), b"x" * 200000, path + " decodes to the body")


def test_brotli_preferred_by_q_value(h):
    web = setup(h)
    r = request(web, path="/data?size=50000", host="c.test", headers=[("Accept-Encoding", "gzip;q=0.5, br")])
    eq(r.header("Content-Encoding"), "br", "br has the higher q")
    out = subprocess.run(["curl", "-s", "--compressed", "-H", "Host: c.test", "-H", "Accept-Encoding: br",
                          "http://127.0.0.1:%d/data?size=50000" % web], capture_output=True)
    eq(len(out.stdout), 50000, "curl decodes the brotli body")
    r = request(web, path="/data?size=50000", host="c.test", headers=[("Accept-Encoding", "gzip;q=0, br;q=0")])
    eq(r.header("Content-Encoding"), None, "q=0 refuses both")


def test_zstd(h):
    web = setup(h)
    r = request(web, path="/data?size=80000&chunked=1", host="c.test", headers=[("Accept-Encoding", "zstd")])
    eq(r.header("Content-Encoding"), "zstd", "encoding")
    out = subprocess.run(["zstd", "-dc"], input=r.body, capture_output=True)
    eq(out.stdout, b"x" * 80000, "zstd -d decodes the body")
    r = request(web, path="/data?size=80000", host="c.test", headers=[("Accept-Encoding", "zstd, br, gzip")])
    eq(r.header("Content-Encoding"), "gzip", "a tie goes to the middleware's order (gzip, br, zstd)")


def test_not_compressed(h):
    web = setup(h, "{minResponseBodyBytes: 2000, excludedContentTypes: [text/plain]}")
    r = request(web, path="/data?size=50000", host="c.test", headers=[("Accept-Encoding", "gzip")])
    eq(r.header("Content-Encoding"), None, "excluded type")
    eq(len(r.body), 50000, "body as is")
    h.close()
    web = setup(h, "{minResponseBodyBytes: 2000}")
    r = request(web, path="/data?size=1000", host="c.test", headers=[("Accept-Encoding", "gzip")])
    eq(r.header("Content-Encoding"), None, "below minResponseBodyBytes")
    r = request(web, path="/data?size=5000", host="c.test")
    eq(r.header("Content-Encoding"), None, "no Accept-Encoding")
    r = request(web, path="/data?size=5000", host="c.test", method="HEAD", headers=[("Accept-Encoding", "gzip")])
    eq(r.header("Content-Encoding"), None, "HEAD")


def test_http10_client_gets_a_closed_stream(h):
    web = setup(h)
    s = connect(web)
    s.sendall(b"GET /data?size=30000 HTTP/1.0\r\nHost: c.test\r\nAccept-Encoding: gzip\r\n\r\n")
    r = read_response(s)
    s.close()
    eq(r.header("Content-Encoding"), "gzip", "encoding")
    eq(r.header("Transfer-Encoding"), None, "no chunked to a 1.0 client")
    eq(gzip.decompress(r.body), b"x" * 30000, "decodes")


def test_bad_settings_refused(h):
    b = h.whoami("z")
    f = h.write("bad.yml", """
http:
  routers:
    r: {rule: "Host(`c.test`)", service: s, middlewares: [z]}
  middlewares:
    z: {compress: {encodings: [lzma]}}
  services:
    s: {loadBalancer: {servers: [{url: "http://127.0.0.1:%d"}]}}
""" % b)
    p, _ = h.proxy([f], expect_fail=True)
    eq(p.p.returncode, 3, "exit status")
    err = p.p.stderr.read().decode()
    check("lzma" in err and "CR051" in err, "diagnostic: " + err)


if __name__ == "__main__":
    run_tests(globals())
