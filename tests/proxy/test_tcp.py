#!/usr/bin/env python3
"""TCP routers: HostSNI with TLS passthrough, TLS terminated by the proxy,
a plain HostSNI(`*`) catch-all, and HTTP routers on the same entry point.

  test_tcp.py CERTROUTE [TEST...]
"""
import os
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import *  # noqa: E402,F401


def cert(h, name):
    """A self-signed certificate for `name`; returns (cert, key) paths."""
    c, k = os.path.join(h.tmp, name + ".crt"), os.path.join(h.tmp, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", k, "-out", c, "-days", "2", "-subj", "/CN=" + name, "-addext",
                    "subjectAltName=DNS:" + name], check=True, capture_output=True)
    return c, k


def tls_get(port, sni, path="/", host=None):
    """An HTTPS GET with SNI; returns (response, the server certificate's CN)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(connect(port), server_hostname=sni)
    try:
        der = s.getpeercert(binary_form=True)
        pem = ssl.DER_cert_to_PEM_cert(der)
        out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem.encode(), capture_output=True).stdout
        s.sendall(build_request(path=path, host=host or sni, close=True))
        return read_response(s), out.decode().strip()
    finally:
        s.close()


def test_passthrough_terminate_and_http_on_one_entry_point(h):
    inner_c, inner_k = cert(h, "pass.test")
    outer_c, outer_k = cert(h, "web.test")
    term_c, term_k = cert(h, "term.test")
    a = h.whoami("behind-inner")
    b = h.whoami("http-backend")
    t = h.whoami("tcp-terminated")
    # The inner proxy terminates TLS for pass.test: the passthrough target.
    inner = h.write("inner.yml", """
http:
  routers:
    r: {rule: "Host(`pass.test`)", service: s, tls: {}}
  services:
    s: {loadBalancer: {servers: [{url: "http://127.0.0.1:%d"}]}}
tls:
  certificates: [{certFile: %s, keyFile: %s}]
""" % (a, inner_c, inner_k))
    _, iports = h.proxy([inner], entry_points=("websecure",))
    outer = h.write("outer.yml", """
tcp:
  routers:
    pass: {rule: "HostSNI(`pass.test`)", service: inner, tls: {passthrough: true}}
    term: {rule: "HostSNI(`term.test`)", service: plain, tls: {}}
  services:
    inner: {loadBalancer: {servers: [{address: "127.0.0.1:%d"}]}}
    plain: {loadBalancer: {servers: [{address: "127.0.0.1:%d"}]}}
http:
  routers:
    web: {rule: "Host(`web.test`)", service: web, tls: {}}
  services:
    web: {loadBalancer: {servers: [{url: "http://127.0.0.1:%d"}]}}
tls:
  certificates:
    - {certFile: %s, keyFile: %s}
    - {certFile: %s, keyFile: %s}
""" % (iports["websecure"], t, b, outer_c, outer_k, term_c, term_k))
    _, ports = h.proxy([outer], entry_points=("websecure",))
    port = ports["websecure"]
    # Passthrough: the inner proxy's certificate, end to end.
    r, subject = tls_get(port, "pass.test")
    check("pass.test" in subject, "passthrough serves the inner certificate: " + subject)
    eq(r.whoami(), "behind-inner", "passthrough backend")
    # Terminated by the outer proxy, then plain bytes to whoami.
    r, subject = tls_get(port, "term.test")
    check("term.test" in subject, "terminated with the outer certificate: " + subject)
    eq(r.whoami(), "tcp-terminated", "terminated TCP backend")
    # No TCP router matches: the HTTPS routers serve it.
    r, subject = tls_get(port, "web.test")
    check("web.test" in subject, "HTTP router certificate: " + subject)
    eq(r.whoami(), "http-backend", "HTTP router backend")


def test_plain_catch_all(h):
    b = h.whoami("raw")
    f = h.write("tcp.yml", """
tcp:
  routers:
    all: {rule: "HostSNI(`*`)", service: raw}
  services:
    raw: {loadBalancer: {servers: [{address: "127.0.0.1:%d"}]}}
""" % b)
    _, ports = h.proxy([f])
    # HTTP spoken over the raw TCP route reaches whoami unchanged (no
    # X-Forwarded-For: the proxy does not parse it).
    r = request(ports["web"], host="anything.test")
    eq(r.whoami(), "raw", "backend")
    check("X-Forwarded-For" not in r.text(), "bytes passed through untouched")


def test_tcp_router_to_unknown_service_is_refused(h):
    f = h.write("bad.yml", """
tcp:
  routers:
    r: {rule: "HostSNI(`*`)", service: missing}
""")
    p, _ = h.proxy([f], expect_fail=True)
    eq(p.p.returncode, 3, "exit status")
    err = p.p.stderr.read().decode()
    check("missing" in err, "the diagnostic names the service: " + err)


if __name__ == "__main__":
    run_tests(globals())
