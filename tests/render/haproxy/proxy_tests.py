#!/usr/bin/env python3
"""Tests of `certroute routes render --to haproxy|caddy|caddyfile`.

  proxy_tests.py golden    TARGET CERTROUTE CASES-DIR
  proxy_tests.py corpus    TARGET CERTROUTE CORPUS-DIR
  proxy_tests.py behaviour TARGET CERTROUTE CASES-DIR

golden: every CASES-DIR/<case>.yml is rendered (flags from a "# args:" line)
into a temporary directory; the output, the diagnostics and the exit code
must equal <case>.<target>.golden (UPDATE_GOLDEN=1 rewrites it), and the
output must pass the real tool's check (haproxy -c, caddy validate).

corpus: every file of the shared corpus that `routes lint` accepts renders
(exit 0) and passes the tool's check. Certificate files the corpus names do
not exist here: the check runs with the test's self-signed certificate
(fixtures/selfsigned.pem) in their place; the render reports each missing
file as CR050.

behaviour: each case names its backends as @name@ in server URLs and lists
requests in "# request: METHOD URL [curl flags] [=> checks]" lines. The
backends (this process, on loopback) answer with their name; the rendered
proxy runs on free loopback ports; each request must reach the backend of
the service `certroute routes match` names (404 when none), or pass the
explicit checks (status=, location=, backend=, path=, header:NAME=VALUE,
reqheader:NAME=VALUE; an empty VALUE: absent). A backend named fwdauth*
acts as a forwardAuth server: 200 with X-Auth-User: alice for
"Authorization: Bearer ok", else 401. https:// requests go to the
websecure entry point when the case names one, else to web.
"# distribution: URL N name=count..." sends N requests and checks how
weighted round robin spread them. "# targets: T..." limits a case to some
targets. Every process started is stopped.

Exit 77 (skipped) when the tool is not installed.
"""
import glob
import http.server
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
MAIN_NAME = {"haproxy": "haproxy.cfg", "caddy": "caddy.json", "caddyfile": "Caddyfile"}
TOOL = {"haproxy": "haproxy", "caddy": "caddy", "caddyfile": "caddy"}


def tool_env(tmp):
    env = dict(os.environ)
    env["HOME"] = tmp
    env["XDG_CONFIG_HOME"] = os.path.join(tmp, "config")
    env["XDG_DATA_HOME"] = os.path.join(tmp, "data")
    env["NO_COLOR"] = "1"
    return env


def check_command(target, main):
    if target == "haproxy":
        return ["haproxy", "-c", "-f", main]
    if target == "caddy":
        return ["caddy", "validate", "--config", main]
    return ["caddy", "validate", "--adapter", "caddyfile", "--config", main]


def stub_pem():
    return os.path.join(FIXTURES, "selfsigned.pem")


def substitute_missing_certs(target, main, workdir):
    """Points certificate references that do not exist at the test's
    self-signed certificate (a copy for HAProxy's combined PEM; the paths
    rewritten for Caddy). Returns the references replaced."""
    text = open(main).read()
    replaced = []
    if target == "haproxy":
        for path in re.findall(r" crt (\S+)", text):
            p = path.strip("'")
            full = p if os.path.isabs(p) else os.path.join(workdir, p)
            if not os.path.exists(full):
                os.makedirs(os.path.dirname(full), exist_ok=True)
                shutil.copy(stub_pem(), full)
                replaced.append(p)
        return replaced
    if target == "caddy":
        cfg = json.loads(text)
        for lf in cfg.get("apps", {}).get("tls", {}).get("certificates", {}).get("load_files", []):
            for key in ("certificate", "key"):
                p = lf[key]
                full = p if os.path.isabs(p) else os.path.join(workdir, p)
                if not os.path.exists(full):
                    lf[key] = stub_pem()
                    replaced.append(p)
        with open(main, "w") as f:
            json.dump(cfg, f, indent=2)
        return replaced
    # Caddyfile: "tls CERT KEY {"
    def fix(m):
        out = []
        for tokn in (m.group(1), m.group(2)):
            p = tokn.strip("`\"")
            full = p if os.path.isabs(p) else os.path.join(workdir, p)
            if not os.path.exists(full):
                replaced.append(p)
                out.append(stub_pem())
            else:
                out.append(tokn)
        return "tls %s %s {" % tuple(out)
    text = re.sub(r"tls (\S+) (\S+) \{", fix, text)
    with open(main, "w") as f:
        f.write(text)
    return replaced


def render(certroute, target, case, outdir, args, cwd):
    cmd = [certroute, "routes", "render", "--to", target, case, "-o", outdir + "/"] + args
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=tool_env(outdir))
    return p


def tool_check(target, main, cwd, tmp):
    p = subprocess.run(check_command(target, main), cwd=cwd, capture_output=True, text=True, env=tool_env(tmp), timeout=60)
    return p.returncode == 0, (p.stdout + p.stderr)[-3000:]


def case_args(path):
    for line in open(path):
        if line.startswith("# args:"):
            return shlex.split(line[len("# args:"):])
    return []


# ---- golden -----------------------------------------------------------------------

def golden(target, certroute, cases):
    update = os.environ.get("UPDATE_GOLDEN") == "1"
    failed, n = 0, 0
    for case in sorted(glob.glob(os.path.join(cases, "*.yml"))):
        name = os.path.basename(case)
        n += 1
        with tempfile.TemporaryDirectory(prefix="certroute-golden-") as tmp:
            out = os.path.join(tmp, "out")
            p = render(certroute, target, name, out, case_args(case), cases)
            main = os.path.join(out, MAIN_NAME[target])
            text = open(main).read() if os.path.exists(main) else ""
            stderr = "".join(l + "\n" for l in p.stderr.splitlines() if not l.startswith("wrote "))
            actual = text + "---- diagnostics\n" + stderr + "---- exit %d\n" % p.returncode
            actual = actual.replace(out, "@OUT@")
            actual = re.sub(r"certroute \d+\.\d+\.\d+\S*", "certroute VERSION", actual)
            expected_path = os.path.join(cases, name[:-4] + "." + target + ".golden")
            if update:
                open(expected_path, "w").write(actual)
            elif not os.path.exists(expected_path):
                print("FAIL %s: no %s (run with UPDATE_GOLDEN=1)" % (name, expected_path))
                failed += 1
                continue
            elif open(expected_path).read() != actual:
                print("FAIL %s: output differs from %s:" % (name, expected_path))
                import difflib
                sys.stdout.writelines(difflib.unified_diff(open(expected_path).read().splitlines(True),
                                                           actual.splitlines(True), "expected", "actual"))
                failed += 1
                continue
            if os.path.exists(main):
                substitute_missing_certs(target, main, cases)
                ok, log = tool_check(target, main, cases, tmp)
                if not ok:
                    print("FAIL %s: %s rejects the output:\n%s" % (name, TOOL[target], log))
                    failed += 1
    print("golden %s: %d of %d cases pass" % (target, n - failed, n))
    return 1 if failed else 0


# ---- corpus -----------------------------------------------------------------------

def corpus(target, certroute, corpus_dir):
    files = sorted(glob.glob(os.path.join(corpus_dir, "**", "*.yml"), recursive=True) +
                   glob.glob(os.path.join(corpus_dir, "**", "*.yaml"), recursive=True) +
                   glob.glob(os.path.join(corpus_dir, "**", "*.toml"), recursive=True) +
                   glob.glob(os.path.join(corpus_dir, "**", "*.json"), recursive=True))
    if not files:
        print("corpus %s: no files in %s" % (target, corpus_dir))
        return 77
    failed, checked, skipped, substituted = 0, 0, 0, 0
    for f in files:
        lint = subprocess.run([certroute, "routes", "lint", f], capture_output=True, text=True)
        if lint.returncode != 0:
            skipped += 1
            continue
        with tempfile.TemporaryDirectory(prefix="certroute-corpus-") as tmp:
            out = os.path.join(tmp, "out")
            p = render(certroute, target, f, out, [], os.path.dirname(f))
            if p.returncode != 0:
                print("FAIL %s: render exited %d:\n%s" % (f, p.returncode, p.stderr[-2000:]))
                failed += 1
                continue
            main = os.path.join(out, MAIN_NAME[target])
            if substitute_missing_certs(target, main, os.path.dirname(f)):
                substituted += 1
            ok, log = tool_check(target, main, os.path.dirname(f), tmp)
            checked += 1
            if not ok:
                print("FAIL %s: %s rejects the output:\n%s" % (f, TOOL[target], log))
                failed += 1
    print("corpus %s: %d files checked (%d with missing certificate files substituted), %d skipped (lint errors), %d failed"
          % (target, checked, substituted, skipped, failed))
    return 1 if failed else 0


# ---- behaviour --------------------------------------------------------------------

class Backend(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if self.server.name.startswith("fwdauth") and self.headers.get("Authorization") != "Bearer ok":
            # A forwardAuth server: only "Authorization: Bearer ok" passes.
            self.send_response(401)
            self.send_header("X-Backend", self.server.name)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"backend": self.server.name, "path": self.path, "method": self.command,
                           "headers": {k.lower(): v for k, v in self.headers.items()}}).encode() + b"\n"
        self.send_response(200)
        self.send_header("X-Backend", self.server.name)
        if self.server.name.startswith("fwdauth"):
            self.send_header("X-Auth-User", "alice")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = answer

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # health checks and proxies close connections early


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start_proxy(target, main, tmp, log):
    if target == "haproxy":
        cmd = ["haproxy", "-f", main, "-db"]
    elif target == "caddy":
        cmd = ["caddy", "run", "--config", main]
    else:
        cmd = ["caddy", "run", "--adapter", "caddyfile", "--config", main]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=tool_env(tmp), start_new_session=True)


def parse_request(line):
    spec, _, checks = line.partition("=>")
    words = shlex.split(spec)
    method, url, curl_args = words[0], words[1], words[2:]
    expect = {}
    for c in shlex.split(checks):
        k, _, v = c.partition("=")
        expect[k] = v
    return method, url, curl_args, expect


def routes_match(certroute, config, method, url, curl_args, entry_point):
    cmd = [certroute, "routes", "match", config, "--url", url, "--method", method, "--json",
           "--client-ip", "127.0.0.1", "--entrypoint", entry_point]
    i = 0
    while i < len(curl_args):
        if curl_args[i] == "-H":
            cmd += ["--header", curl_args[i + 1]]
            i += 2
        else:
            i += 1
    p = subprocess.run(cmd, capture_output=True, text=True)
    return json.loads(p.stdout)


def curl(method, url, curl_args, ports):
    scheme, rest = url.split("://", 1)
    host = rest.split("/", 1)[0].split("?", 1)[0]
    port = ports["websecure" if scheme == "https" and "websecure" in ports else "web"]
    cmd = ["curl", "-s", "-k", "-X", method, "-o", "-", "-w", "\n%{http_code} %{redirect_url}", "-D", "-",
           "--max-time", "5", "--connect-to", "%s::127.0.0.1:%d" % (host, port), url] + curl_args
    if method == "HEAD":
        cmd[cmd.index("-X"):cmd.index("-X") + 2] = ["-I"]
    p = subprocess.run(cmd, capture_output=True)
    out = p.stdout.decode("utf-8", "replace")
    tail = out.rsplit("\n", 1)[-1]
    status = tail.split(" ")[0]
    head, _, body = out[:len(out) - len(tail) - 1].partition("\r\n\r\n")
    headers = {}
    for l in head.split("\r\n")[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def behaviour(target, certroute, cases):
    tool = TOOL[target]
    if not shutil.which(tool) or not shutil.which("curl"):
        print("behaviour %s: %s or curl not installed: skipped" % (target, tool))
        return 77
    failed, total, ncases = 0, 0, 0
    procs, servers = [], []

    def stop_all(*_):
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        procs.clear()
        for s in servers:
            s.shutdown()
            s.server_close()
        servers.clear()

    signal.signal(signal.SIGTERM, lambda *a: (stop_all(), sys.exit(1)))
    try:
        for case in sorted(glob.glob(os.path.join(cases, "*.yml"))):
            text = open(case).read()
            targets = re.search(r"^# targets: (.*)$", text, re.M)
            if targets and target not in targets.group(1).split():
                continue
            ncases += 1
            name = os.path.basename(case)
            with tempfile.TemporaryDirectory(prefix="certroute-behaviour-") as tmp:
                text = text.replace("@FIXTURES@", FIXTURES)
                # Backends.
                for b in sorted(set(re.findall(r"@([A-Za-z0-9_-]+)@", text))):
                    s = Server(("127.0.0.1", 0), Backend)
                    s.name = b
                    threading.Thread(target=s.serve_forever, daemon=True).start()
                    servers.append(s)
                    text = text.replace("@%s@" % b, "127.0.0.1:%d" % s.server_address[1])
                config = os.path.join(tmp, "routes.yml")
                open(config, "w").write(text)
                # https:// requests go to the websecure entry point when the
                # case has one, else to web (which then serves both).
                ports = {"web": free_port()}
                eps = ["--entrypoint", "web=127.0.0.1:%d" % ports["web"]]
                if "websecure" in text:
                    ports["websecure"] = free_port()
                    eps += ["--entrypoint", "websecure=127.0.0.1:%d" % ports["websecure"]]
                out = os.path.join(tmp, "out")
                p = render(certroute, target, config, out, eps, tmp)
                if p.returncode != 0:
                    print("FAIL %s: render exited %d:\n%s" % (name, p.returncode, p.stderr))
                    failed += 1
                    continue
                log = open(os.path.join(tmp, "proxy.log"), "w")
                proxy = start_proxy(target, os.path.join(out, MAIN_NAME[target]), tmp, log)
                procs.append(proxy)
                if not wait_port(ports["web"], proxy):
                    log.close()
                    print("FAIL %s: %s did not start:\n%s" % (name, tool, open(os.path.join(tmp, "proxy.log")).read()[-3000:]))
                    failed += 1
                    stop_all()
                    continue
                for line in re.findall(r"^# request: (.*)$", text, re.M):
                    total += 1
                    method, url, curl_args, expect = parse_request(line)
                    ep = "websecure" if url.startswith("https://") and "websecure" in ports else "web"
                    status, headers, body = curl(method, url, curl_args, ports)
                    got = headers.get("x-backend")
                    try:
                        seen = json.loads(body) if body.startswith("{") else {}
                    except ValueError:
                        seen = {}
                    problems = []
                    if not expect:
                        m = routes_match(certroute, config, method, url, curl_args, ep)
                        want = m["service"].split("@")[0] if m.get("service") else None
                        if want is None:
                            if status != "404":
                                problems.append("expected 404 (no router matches), got %s from %s" % (status, got))
                        elif got != want or status != "200":
                            problems.append("routes match says router %s -> service %s; got status %s from backend %s %r"
                                            % (m.get("router"), want, status, got, body[:300]))
                    for k, v in expect.items():
                        if k == "status" and status != v:
                            problems.append("status %s, expected %s" % (status, v))
                        elif k == "location" and headers.get("location") != v:
                            problems.append("location %r, expected %r" % (headers.get("location"), v))
                        elif k == "backend" and got != v:
                            problems.append("backend %s, expected %s" % (got, v))
                        elif k == "path" and seen.get("path") != v:
                            problems.append("backend saw path %r, expected %r" % (seen.get("path"), v))
                        elif k.startswith("header:") and headers.get(k[7:].lower()) != (v or None):
                            problems.append("response header %s: %r, expected %r" % (k[7:], headers.get(k[7:].lower()), v))
                        elif k.startswith("reqheader:") and seen.get("headers", {}).get(k[10:].lower()) != (v or None):
                            problems.append("backend saw header %s: %r, expected %r"
                                            % (k[10:], seen.get("headers", {}).get(k[10:].lower()), v))
                    if problems:
                        failed += 1
                        print("FAIL %s: %s: %s" % (name, line, "; ".join(problems)))
                for line in re.findall(r"^# distribution: (.*)$", text, re.M):
                    # "URL N name=count...": N requests spread over the backends by weight.
                    total += 1
                    words = line.split()
                    url, n = words[0], int(words[1])
                    want = dict(w.split("=") for w in words[2:])
                    counts = {}
                    for _ in range(n):
                        status, headers, body = curl("GET", url, [], ports)
                        b = headers.get("x-backend")
                        counts[b] = counts.get(b, 0) + 1
                    if {k: str(v) for k, v in counts.items()} != want:
                        failed += 1
                        print("FAIL %s: distribution %s: got %s" % (name, line, counts))
                stop_all()
                log.close()
    finally:
        stop_all()
    print("behaviour %s: %d cases, %d requests, %d failed" % (target, ncases, total, failed))
    return 1 if failed else 0


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("golden", "corpus", "behaviour") or sys.argv[2] not in MAIN_NAME:
        print(__doc__)
        return 2
    mode, target, certroute, path = sys.argv[1:]
    certroute = os.path.abspath(certroute)
    if not shutil.which(TOOL[target]):
        print("%s not installed: skipped" % TOOL[target])
        return 77
    return {"golden": golden, "corpus": corpus, "behaviour": behaviour}[mode](target, certroute, path)


if __name__ == "__main__":
    sys.exit(main())
