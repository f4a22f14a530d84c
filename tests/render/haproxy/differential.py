#!/usr/bin/env python3
"""Differential test of `certroute routes render --to haproxy|caddy|caddyfile`.

  differential.py TARGET CERTROUTE NGINX-TESTS-DIR
  CERTROUTE_SEED=N CERTROUTE_CONFIGS=M differential.py ...   explore other seeds

The random configurations and requests of the nginx differential test
(NGINX-TESTS-DIR/random_configs.py, a fixed seed: the same files every run)
are rendered for TARGET and run by the real proxy on a free loopback port in
front of NGINX-TESTS-DIR/backends.py's backends (one per service, each
answering its own name). Every request must reach the backend of the service
`certroute routes match` names, or get 404 when no router matches.

A wrong answer whose routers (the one routes match names, the one whose
backend answered) have a CR050 diagnostic in the render's output (what the
target cannot express) is counted as a skip and printed, not a failure.
Any other wrong answer fails with the seed, the configuration and the request.

The proxy starts the way proxy_tests.py starts it (HOME and XDG dirs in a
temporary directory) and is always stopped. Exit 77 (skipped) when the tool
or curl is not installed.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import proxy_tests as pt  # noqa: E402

DEFAULT_SEED = {"haproxy": 11, "caddy": 12, "caddyfile": 13}
DEFAULT_CONFIGS = 10


def cr050_routers(stderr, config_text):
    """Routers a CR050 diagnostic of the render names, by name ("router 'X'")
    or by the line it points at (inside router X's block of the config)."""
    blocks, current = [], None
    for n, line in enumerate(config_text.splitlines(), 1):
        m = re.match(r"^    (r\d+):$", line)
        if m:
            current = m.group(1)
        elif not line.startswith("      "):
            current = None
        if current:
            blocks.append((n, current))
    by_line = dict(blocks)
    routers = {}
    for line in stderr.splitlines():
        if "[CR050]" not in line:
            continue
        names = set(re.findall(r"router '([^'@]+)", line))
        m = re.match(r"^[^:]*:(\d+):", line)
        if m and int(m.group(1)) in by_line:
            names.add(by_line[int(m.group(1))])
        for r in names:
            routers.setdefault(r, []).append(line)
    return routers


def load_backends(nginx_dir):
    sys.path.insert(0, nginx_dir)
    import backends  # noqa: E402  (tests/render/nginx/backends.py)
    return backends


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in pt.MAIN_NAME:
        print(__doc__)
        return 2
    target, certroute, nginx_dir = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    tool = pt.TOOL[target]
    if not shutil.which(tool) or not shutil.which("curl"):
        print("differential %s: %s or curl not installed: skipped" % (target, tool))
        return 77
    seed = int(os.environ.get("CERTROUTE_SEED", DEFAULT_SEED[target]))
    count = int(os.environ.get("CERTROUTE_CONFIGS", DEFAULT_CONFIGS))
    backends = load_backends(nginx_dir)

    procs, servers = [], []

    def stop_all():
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
                p.wait()
        procs.clear()
        for s in servers:
            s.shutdown()
            s.server_close()
        servers.clear()

    def on_signal(*_):
        stop_all()
        sys.exit(130)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    total = failed = skipped = configs = configs_cr050 = 0
    try:
        with tempfile.TemporaryDirectory(prefix="certroute-%s-differential-" % target) as tmp:
            gen = subprocess.run([sys.executable, os.path.join(nginx_dir, "random_configs.py"), tmp, str(seed), str(count)])
            if gen.returncode != 0:
                print("FAIL: random_configs.py exited %d" % gen.returncode)
                return 1
            for n in range(count):
                name = "r%d_%d" % (seed, n)
                work = os.path.join(tmp, name)
                os.makedirs(work)
                text = open(os.path.join(tmp, name + ".yml")).read()
                requests = [l for l in open(os.path.join(tmp, name + ".requests")).read().splitlines()
                            if l and not l.startswith("#")]
                configs += 1
                # Backends: backends.py's handler (answers its own name), on free ports.
                for b in sorted(set(re.findall(r"@([A-Za-z0-9_-]+)@", text))):
                    s = pt.Server(("127.0.0.1", 0), backends.handler(b))
                    threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
                    servers.append(s)
                    text = text.replace("@%s@" % b, str(s.server_address[1]))
                config = os.path.join(work, name + ".yml")
                open(config, "w").write(text)
                ports = {"web": pt.free_port()}
                out = os.path.join(work, "out")
                p = pt.render(certroute, target, config, out, ["--entrypoint", "web=127.0.0.1:%d" % ports["web"]], work)
                if p.returncode != 0:
                    print("FAIL %s: render exited %d:\n%s" % (name, p.returncode, p.stderr))
                    failed += 1
                    stop_all()
                    continue
                warned = cr050_routers(p.stderr, text)
                if warned:
                    configs_cr050 += 1
                log_path = os.path.join(work, "proxy.log")
                with open(log_path, "w") as log:
                    proxy = pt.start_proxy(target, os.path.join(out, pt.MAIN_NAME[target]), work, log)
                    procs.append(proxy)
                    if not pt.wait_port(ports["web"], proxy):
                        print("FAIL %s: %s did not start:\n%s" % (name, tool, open(log_path).read()[-3000:]))
                        failed += 1
                        stop_all()
                        continue
                    for line in requests:
                        total += 1
                        method, url, *hdrs = line.split("\t")
                        curl_args = ["--path-as-is"]
                        for h in hdrs:
                            curl_args += ["-H", h]
                        m = pt.routes_match(certroute, config, method, url, curl_args, "web")
                        want = m["service"].split("@")[0] if m.get("service") else None
                        status, _, body = pt.curl(method, url, curl_args, ports)
                        got = body.strip() if status == "200" else None
                        if (want is None and status == "404") or (want is not None and status == "200" and got == want):
                            continue
                        # Routers involved: the one routes match names, the
                        # one whose backend answered (service sN <- router rN).
                        involved = set()
                        if m.get("router"):
                            involved.add(m["router"].split("@")[0])
                        if got and re.fullmatch(r"s\d+", got):
                            involved.add("r" + got[1:])
                        what = "%s %s%s: routes match -> router %s, service %s (404 when none); %s -> status %s, backend %s" % (
                            method, url, "".join(" [%s]" % h for h in hdrs), m.get("router"), want, target, status, got)
                        why = [w for r in sorted(involved) for w in warned.get(r, [])]
                        if why:
                            skipped += 1
                            print("SKIP (CR050) seed %d config %d: %s\n    %s" % (seed, n, what, "\n    ".join(why)))
                            continue
                        failed += 1
                        print("FAIL seed %d config %d (%s): %s" % (seed, n, name, what))
                        print("    config:\n" + "".join("      " + l + "\n" for l in open(config).read().splitlines()
                                                          if not l.startswith("    s")))
                    stop_all()
    finally:
        stop_all()
    print("differential %s: seed %d, %d configs (%d with CR050 diagnostics), %d requests: %d pass, "
          "%d skipped (CR050), %d failed" % (target, seed, configs, configs_cr050, total, total - failed - skipped,
                                             skipped, failed))
    return 1 if failed or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
