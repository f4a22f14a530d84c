#!/usr/bin/env python3
"""The errors middleware: answers in the status ranges are replaced by a page
from another service, sent with the original status (or its statusRewrites
entry); other answers pass; a missing page service still answers the status.

  test_errors.py CERTROUTE [TEST...]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import *  # noqa: E402,F401


def setup(h, pages_port=None):
    app = h.whoami("app")
    pages = pages_port or h.whoami("pages")
    f = h.write("e.yml", """
http:
  routers:
    r: {rule: "Host(`e.test`)", service: app, middlewares: [pages]}
  middlewares:
    pages:
      errors:
        status: ["500-599", "404"]
        service: pages
        query: "/errors/{status}.html?from={originalStatus}"
        statusRewrites: {"418": 404}
  services:
    app: {loadBalancer: {servers: [{url: "http://127.0.0.1:%d"}]}}
    pages: {loadBalancer: {servers: [{url: "http://127.0.0.1:%d"}]}}
""" % (app, pages))
    _, ports = h.proxy([f])
    return ports["web"]


def test_page_replaces_the_answer(h):
    web = setup(h)
    r = request(web, path="/x?status=503", host="e.test")
    eq(r.status, 503, "the original status")
    eq(r.whoami(), "pages", "the page's body")
    check("GET /errors/503.html?from=503 HTTP/1.1" in r.text(), "the query with placeholders:\n" + r.text())
    r = request(web, path="/x?status=404", host="e.test")
    eq((r.status, r.whoami()), (404, "pages"), "a single status")
    r = request(web, path="/x?status=418", host="e.test")
    eq(r.status, 418, "418 is not in the ranges: passed through")
    eq(r.whoami(), "app", "passed through")
    r = request(web, path="/x?status=200", host="e.test")
    eq((r.status, r.whoami()), (200, "app"), "other answers pass")


def test_keep_alive_after_a_page(h):
    web = setup(h)
    s = connect(web)
    for st in (500, 200, 502, 200):
        s.sendall(build_request(path="/x?status=%d" % st, host="e.test"))
        r = read_response(s)
        eq(r.status, st, "status on one connection")
        eq(r.whoami(), "pages" if st >= 500 else "app", "body")
    s.close()


def test_page_service_down_still_answers_the_status(h):
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    dead = sock.getsockname()[1]
    sock.close()
    web = setup(h, pages_port=dead)
    r = request(web, path="/x?status=500", host="e.test")
    eq(r.status, 500, "the status, without the page")


if __name__ == "__main__":
    run_tests(globals())
