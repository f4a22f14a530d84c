#!/usr/bin/env python3
"""Small HTTP backends for the nginx behaviour test: one server per NAME=PORT
argument, all in this process, each answering every request with 200 and its
own NAME as the body. Runs until killed."""
import http.server
import sys
import threading


def handler(name):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = answer

        def log_message(self, *args):
            pass

    return Handler


def main():
    servers = []
    for spec in sys.argv[1:]:
        name, port = spec.split("=")
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), handler(name))
        srv.daemon_threads = True
        servers.append(srv)
    for srv in servers[1:]:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("ready", flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
