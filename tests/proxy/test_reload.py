#!/usr/bin/env python3
"""Reloading: route file changes (atomic rename, in-place write, sed -i,
appends, slow writers, a watched directory) applied under load with zero
failed requests; broken versions refused while the old configuration keeps
serving; one edit, one reload; SIGHUP reloads; SIGUSR1 reopens the access
log.

  test_reload.py CERTROUTE [TEST...]
"""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import *  # noqa: E402,F401


def routes_yaml(routes):
    """routes: {host: port} -> a Traefik dynamic configuration."""
    out = ["http:", "  routers:"]
    for i, host in enumerate(sorted(routes)):
        out += ["    r%d:" % i, "      rule: Host(`%s`)" % host, "      service: s%d" % i, "      entryPoints: [web]"]
    out.append("  services:")
    for i, host in enumerate(sorted(routes)):
        out += ["    s%d:" % i, "      loadBalancer:", "        servers:", "          - url: http://127.0.0.1:%d" % routes[host]]
    return "\n".join(out) + "\n"


# (Route files go after "--": --entrypoint, added by the harness, takes
# every following argument.)


def settle():
    """The proxy prints "listening" before it sets up its file watches and
    signal handlers (Proxy::run): give it a moment before the first edit or
    signal."""
    time.sleep(0.3)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def write_in_place(path, text):
    with open(path, "w") as f:
        f.write(text)


class Stderr:
    """Collects a process's stderr as it comes (a reader thread)."""

    def __init__(self, proc):
        self.text = ""
        self.lock = threading.Lock()
        threading.Thread(target=self._read, args=(proc.p.stderr,), daemon=True).start()

    def _read(self, f):
        while True:
            line = f.readline()
            if not line:
                return
            with self.lock:
                self.text += line.decode(errors="replace")

    def get(self):
        with self.lock:
            return self.text

    def reloads(self):
        return [l for l in self.get().splitlines() if "reload" in l]


class Load:
    """Threads sending requests on keep-alive connections, counting failures
    and remembering which backend answered when."""

    def __init__(self, port, host="a.test", threads=6):
        self.port = port
        self.host = host
        self.stop = False
        self.lock = threading.Lock()
        self.failures = []
        self.answers = []  # (time, name)
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self, i):
        s = None
        n = 0
        while not self.stop:
            try:
                if s is None:
                    s = connect(self.port)
                s.sendall(build_request(path="/load%d-%d" % (i, n), host=self.host))
                r = read_response(s, timeout=5)
                if r is None:
                    raise AssertionError("connection closed before a response")
                if r.status != 200:
                    raise AssertionError("status %d: %r" % (r.status, r.body[:100]))
                with self.lock:
                    self.answers.append((time.time(), r.whoami()))
                if (r.header("Connection") or "").lower() == "close":
                    s.close()
                    s = None
            except Exception as e:
                with self.lock:
                    self.failures.append("%s: %r" % (time.strftime("%H:%M:%S"), e))
                if s is not None:
                    s.close()
                s = None
            n += 1
            time.sleep(0.002)
        if s is not None:
            s.close()

    def finish(self):
        self.stop = True
        for t in self.threads:
            t.join(10)
        return self.failures

    def wait_for_backend(self, name, since, timeout=3.0):
        """Time from `since` until every thread's answers after that point
        are from `name` (checked over a window of new answers)."""
        end = since + timeout
        while time.time() < end:
            with self.lock:
                after = [(t, n) for t, n in self.answers if t >= since]
            first = next((t for t, n in after if n == name), None)
            if first is not None:
                later = [n for t, n in after if t > first + 0.3]
                if len(later) >= 20 and all(n == name for n in later):
                    return first - since
            time.sleep(0.05)
        with self.lock:
            tail = [n for t, n in self.answers[-10:]]
        raise AssertionError("backend %s not serving within %.1fs (last answers %s)" % (name, timeout, tail))

    def count(self):
        with self.lock:
            return len(self.answers)


def test_reload_under_load_zero_failures(h):
    a, b, c = h.whoami("A"), h.whoami("B"), h.whoami("C")
    path = h.write("routes.yml", routes_yaml({"a.test": a, "other.test": a}))
    # The access log in the same directory: its writes are no reason to reload.
    log = os.path.join(h.tmp, "access.log")
    p, ports = h.proxy(["--access-log", log, "--", path])
    err = Stderr(p)
    settle()
    web = ports["web"]
    eq(request(web, host="a.test").whoami(), "A", "first backend")
    load = Load(web)
    # A slow request in flight across the reload finishes on the old backend.
    slow = connect(web)
    slow.sendall(build_request(path="/slow?wait=1500ms", host="a.test"))
    time.sleep(0.7)
    # 1: atomic rename of a new version.
    t0 = time.time()
    write_atomic(path, routes_yaml({"a.test": b, "other.test": a}))
    took = load.wait_for_backend("B", t0)
    check(took < 2.0, "rename applied after %.2fs" % took)
    r = read_response(slow)
    eq((r.status, r.whoami()), (200, "A"), "the request in flight during the reload")
    slow.sendall(build_request(path="/after", host="a.test", close=True))
    eq(read_response(slow).whoami(), "B", "the same connection's next request uses the new routes")
    slow.close()
    time.sleep(0.5)
    # 2: in-place write.
    t0 = time.time()
    write_in_place(path, routes_yaml({"a.test": c, "other.test": a}))
    took = load.wait_for_backend("C", t0)
    check(took < 2.0, "in-place write applied after %.2fs" % took)
    time.sleep(0.5)
    # 3: sed -i.
    t0 = time.time()
    subprocess.check_call(["sed", "-i", "s/:%d$/:%d/" % (c, b), path])
    took = load.wait_for_backend("B", t0)
    check(took < 2.0, "sed -i applied after %.2fs" % took)
    time.sleep(0.5)
    failures = load.finish()
    check(load.count() > 300, "enough load (%d requests)" % load.count())
    eq(failures[:5], [], "failed requests during reloads (%d in all)" % len(failures))
    eq(request(web, host="other.test").whoami(), "A", "untouched route")
    reloads = err.reloads()
    eq(len(reloads), 3, "one reload per edit: %s" % reloads)
    check(all("configuration applied" in l for l in reloads), "all applied: %s" % reloads)
    check(os.path.getsize(log) > 0, "the access log was written")


def test_broken_config_keeps_serving(h):
    a, b = h.whoami("A"), h.whoami("B")
    path = h.write("routes.yml", routes_yaml({"a.test": a}))
    p, ports = h.proxy(["--", path])
    err = Stderr(p)
    settle()
    web = ports["web"]
    eq(request(web, host="a.test").whoami(), "A", "before")
    load = Load(web, threads=3)
    good = routes_yaml({"a.test": b})
    # A YAML syntax error (in a version that would also move the route).
    write_atomic(path, good + "  broken: [\n")
    wait_for(lambda: len(err.reloads()) >= 1, 3, what="a reload attempt")
    time.sleep(0.3)
    text = err.get()
    check("refused" in text, "stderr says refused:\n" + text)
    check(re.search(r"routes\.yml:\d+:\d+: error: ", text), "a diagnostic with file:line:col:\n" + text)
    eq(request(web, host="a.test").whoami(), "A", "old configuration after a syntax error")
    # An undefined service.
    write_in_place(path, good.replace("service: s0", "service: nope"))
    wait_for(lambda: len(err.reloads()) >= 2, 3, what="a second reload attempt")
    time.sleep(0.3)
    text = err.get()
    check("'nope'" in text and "not defined" in text, "the undefined service is named:\n" + text)
    eq(request(web, host="a.test").whoami(), "A", "old configuration after an undefined service")
    # Fixed: applied.
    write_atomic(path, good)
    wait_for(lambda: request(web, host="a.test").whoami() == "B", 3, what="the fixed version")
    failures = load.finish()
    eq(failures[:5], [], "failed requests (%d)" % len(failures))
    reloads = err.reloads()
    eq(len(reloads), 3, "three edits, three reloads: %s" % reloads)
    check("refused" in reloads[0] and "refused" in reloads[1] and "applied" in reloads[2], str(reloads))
    eq(len(re.findall(r"error: ", err.get())), len(re.findall(r"error: ", text)), "no errors printed again later")


def test_one_edit_one_reload(h):
    a, b = h.whoami("A"), h.whoami("B")
    path = h.write("conf/routes.yml", routes_yaml({"a.test": a}))
    d = os.path.dirname(path)
    # stderr and the access log both go into the watched directory: writes
    # there must not feed back into reloads.
    errpath = os.path.join(d, "proxy.err")
    errf = open(errpath, "w")
    full = [CERTROUTE, "proxy", path, "--workers", "2", "--entrypoint", "web=127.0.0.1:0",
            "--access-log", os.path.join(d, "access.log")]
    proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=errf)
    try:
        line = proc.stdout.readline().decode()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        check(m, "proxy said: " + line)
        web = int(m.group(1))
        settle()
        reloads = lambda: [l for l in open(errpath).read().splitlines() if "reload" in l]
        # An append that breaks the file (errors printed once, to a file in
        # the watched directory), then sed -i that fixes it and moves the route.
        with open(path, "a") as f:
            f.write("x: [\n")
        time.sleep(1.0)
        eq(len(reloads()), 1, "an append: one reload: %s" % reloads())
        check("refused" in reloads()[0], "the broken append is refused")
        for _ in range(5):
            request(web, host="a.test")  # access log lines in the directory
        subprocess.check_call(["sed", "-i", "-e", "/^x: \\[$/d", "-e", "s/:%d$/:%d/" % (a, b), path])
        time.sleep(1.0)
        eq(request(web, host="a.test").whoami(), "B", "sed -i applied")
        for _ in range(5):
            request(web, host="a.test")
        time.sleep(0.5)
        r = reloads()
        eq(len(r), 2, "append + sed -i: two reloads: %s" % r)
        check("applied" in r[1], "the sed -i version applied")
        eq(open(errpath).read().count("error: "), 1, "the error printed once")
        # A slow writer (truncate, a pause, the rest): one reload of the
        # complete file, never of the half-written one.
        text = routes_yaml({"a.test": a})
        with open(path, "w") as f:
            f.write(text[:40])
            f.flush()
            time.sleep(0.6)
            f.write(text[40:])
        time.sleep(1.0)
        r = reloads()
        eq(len(r), 3, "a slow write: one reload: %s" % r)
        check("applied" in r[2], "the slowly written file applied whole: %s" % r)
        eq(request(web, host="a.test").whoami(), "A", "slow write applied")
        # Other files in the directory, editor leftovers: no reload.
        for name in ("notes.txt", ".routes.yml.swp", "routes.yml~", "4913"):
            with open(os.path.join(d, name), "w") as f:
                f.write("x")
            os.unlink(os.path.join(d, name))
        time.sleep(0.6)
        eq(len(reloads()), 3, "unrelated files: no reload: %s" % reloads()[3:])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        errf.close()


def test_watched_directory(h):
    a, b = h.whoami("A"), h.whoami("B")
    h.write("dir/one.yml", routes_yaml({"a.test": a}))
    d = os.path.join(h.tmp, "dir")
    p, ports = h.proxy(["--", d])
    err = Stderr(p)
    settle()
    web = ports["web"]
    eq(request(web, host="b.test").status, 404, "no b.test yet")
    # A new file in the directory (routers and services named differently).
    text = routes_yaml({"b.test": b}).replace("r0:", "rb:").replace("s0", "sb")
    write_atomic(os.path.join(d, "two.yml"), text)
    try:
        wait_for(lambda: request(web, host="b.test").status == 200, 3, what="the new file's route")
    except AssertionError:
        raise AssertionError("not reloaded; stderr:\n" + err.get())
    eq(request(web, host="b.test").whoami(), "B", "b.test")
    # A non-route file: no reload.
    n = len(err.reloads())
    with open(os.path.join(d, "README.txt"), "w") as f:
        f.write("hello")
    time.sleep(0.6)
    eq(len(err.reloads()), n, "a .txt file: no reload")
    # Removing the file removes the route.
    os.unlink(os.path.join(d, "two.yml"))
    wait_for(lambda: request(web, host="b.test").status == 404, 3, what="the route removed")
    eq(request(web, host="a.test").whoami(), "A", "a.test still served")


def test_sighup_reloads(h):
    a, b = h.whoami("A"), h.whoami("B")
    path = h.write("routes.yml", routes_yaml({"a.test": a}))
    p, ports = h.proxy(["--no-watch", "--", path])
    err = Stderr(p)
    settle()
    web = ports["web"]
    write_atomic(path, routes_yaml({"a.test": b}))
    time.sleep(0.6)
    eq(request(web, host="a.test").whoami(), "A", "--no-watch: not reloaded on change")
    eq(err.reloads(), [], "no reload without a signal")
    load = Load(web, threads=3)
    time.sleep(0.3)
    t0 = time.time()
    p.p.send_signal(signal.SIGHUP)
    took = load.wait_for_backend("B", t0)
    check(took < 1.0, "SIGHUP applied after %.2fs" % took)
    eq(load.finish()[:5], [], "failed requests around SIGHUP")
    wait_for(lambda: len(err.reloads()) == 1, 2, what="one reload line")
    check("SIGHUP" in err.reloads()[0] and "applied" in err.reloads()[0], str(err.reloads()))
    # A broken file on SIGHUP: refused, still serving.
    write_atomic(path, "http: [\n")
    p.p.send_signal(signal.SIGHUP)
    wait_for(lambda: len(err.reloads()) == 2, 2, what="a second reload line")
    check("refused" in err.reloads()[1], str(err.reloads()))
    eq(request(web, host="a.test").whoami(), "B", "still serving after a refused SIGHUP reload")
    # With watching on (the default), SIGHUP works as well.
    path2 = h.write("w/routes.yml", routes_yaml({"a.test": a}))
    p2, ports2 = h.proxy(["--", path2])
    err2 = Stderr(p2)
    settle()
    p2.p.send_signal(signal.SIGHUP)
    wait_for(lambda: any("SIGHUP" in l for l in err2.reloads()), 2, what="SIGHUP reload with watching on")
    eq(len(err2.reloads()), 1, "one reload")
    eq(request(ports2["web"], host="a.test").whoami(), "A", "serving")


def test_sigusr1_reopens_access_log(h):
    a = h.whoami("A")
    path = h.write("routes.yml", routes_yaml({"a.test": a}))
    log = os.path.join(h.tmp, "access.log")
    p, ports = h.proxy(["--access-log", log, "--", path])
    err = Stderr(p)
    settle()
    web = ports["web"]
    request(web, host="a.test", path="/before-rotate")
    wait_for(lambda: os.path.exists(log) and "/before-rotate" in open(log).read(), what="first line")
    os.rename(log, log + ".1")
    request(web, host="a.test", path="/after-rename")
    wait_for(lambda: "/after-rename" in open(log + ".1").read(), what="the old file still written until SIGUSR1")
    check(not os.path.exists(log), "no new file before SIGUSR1")
    p.p.send_signal(signal.SIGUSR1)
    wait_for(lambda: os.path.exists(log), 2, what="the log reopened at its path")
    request(web, host="a.test", path="/after-reopen")
    wait_for(lambda: "/after-reopen" in open(log).read(), what="new lines in the new file")
    old = open(log + ".1").read()
    check("/after-reopen" not in old, "the rotated file gets no new lines")
    check("/before-rotate" in old and "/after-rename" in old, "the rotated file kept its lines")
    eq(open(log).read().count("\n"), 1, "one line in the new file")
    # Reopening under load loses no line: each request is logged once.
    n = 200
    done = threading.Event()

    def rotate():
        i = 2
        while not done.is_set():
            os.rename(log, log + ".%d" % i)
            p.p.send_signal(signal.SIGUSR1)
            i += 1
            time.sleep(0.05)
    t = threading.Thread(target=rotate)
    t.start()
    s = connect(web)
    for i in range(n):
        s.sendall(build_request(host="a.test", path="/rot%d" % i))
        eq(read_response(s).status, 200, "request %d" % i)
    s.close()
    done.set()
    t.join()
    time.sleep(0.3)
    text = ""
    for name in os.listdir(h.tmp):
        if name.startswith("access.log"):
            text += open(os.path.join(h.tmp, name)).read()
    for i in range(n):
        eq(len(re.findall(r"/rot%d " % i, text)), 1, "request %d logged exactly once" % i)
    eq(err.reloads(), [], "log writes and rotations cause no reload")
    eq(p.p.poll(), None, "still running")


if __name__ == "__main__":
    run_tests(globals())
