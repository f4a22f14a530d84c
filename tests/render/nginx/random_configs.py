#!/usr/bin/env python3
"""Random route configurations and requests for the nginx differential test.

    random_configs.py OUT-DIR SEED COUNT

writes COUNT pairs OUT-DIR/r<SEED>_<n>.yml and .requests in behaviour.sh's
format. The rules mix overlapping hosts, host regexes, exact paths, prefixes
(some ending in '/'), path regexes, methods, headers, queries and client IPs
with &&, || and !, and random priorities: the combinations where nginx's own
server and location rules would pick differently from Traefik's priority
order. The requests aim at the same overlaps (including "//" in paths). The
same seed always gives the same files."""
import random
import sys

HOSTS = ["a.test", "b.test", "c.test"]
PATHS = ["/", "/a", "/a/b", "/ab", "/a/", "/x", "/x/y"]
REGEXES = ["^/a/[0-9]+", "\\.php$", "^/x", "b$", "^/a"]
REQUEST_PATHS = ["/", "/a", "/a/", "/a/b", "/a/1", "/a/12/x", "/ab", "/abc", "/x", "/x/", "/x/y", "/y.php",
                 "/a/b.php", "/zz", "/ab/b", "/a//b", "//"]


def main():
    out, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rnd = random.Random(seed)

    def atom():
        k = rnd.randrange(14)
        choices = [
            lambda: "Host(`%s`)" % rnd.choice(HOSTS),
            lambda: "HostRegexp(`%s`)" % rnd.choice(["^[ab]\\.test$", "^a\\.test$", ".+", "test$", "^[a-c]"]),
            lambda: "PathPrefix(`%s`)" % rnd.choice(PATHS),
            lambda: "Path(`%s`)" % rnd.choice(PATHS),
            lambda: "PathRegexp(`%s`)" % rnd.choice(REGEXES),
            lambda: "Method(`%s`)" % rnd.choice(["GET", "POST"]),
            lambda: "Header(`X-T`, `1`)",
            lambda: "Query(`q`, `1`)",
            lambda: "PathPrefix(`%s`)" % rnd.choice(PATHS),
            lambda: "HeaderRegexp(`X-T`, `^[0-9]$`)",
            lambda: "ClientIP(`%s`)" % rnd.choice(["127.0.0.1/32", "10.0.0.0/8", "::1"]),
            lambda: "PathPrefix(`%s`)" % rnd.choice(["/a/", "/x/", "/ab"]),
            lambda: "Method(`POST`)",
            lambda: "Host(`%s`)" % rnd.choice(HOSTS),
        ]
        return choices[k]()

    def expr(depth=0):
        if depth > 1 or rnd.random() < 0.4:
            a = atom()
            return "!" + a if rnd.random() < 0.15 else a
        return "(%s %s %s)" % (expr(depth + 1), rnd.choice(["&&", "&&", "||"]), expr(depth + 1))

    for n in range(count):
        name = "%s/r%d_%d" % (out, seed, n)
        lines = ["# Random configuration %d of seed %d (random_configs.py)." % (n, seed), "http:", "  routers:"]
        services = []
        for i in range(rnd.randint(3, 9)):
            lines += ["    r%d:" % i, "      rule: '%s'" % expr()]
            if rnd.random() < 0.4:
                lines.append("      priority: %d" % rnd.randint(1, 60))
            lines.append("      service: s%d" % i)
            services.append("s%d" % i)
        lines.append("  services:")
        for s in services:
            lines.append('    %s: {loadBalancer: {servers: [{url: "http://127.0.0.1:@%s@"}]}}' % (s, s))
        with open(name + ".yml", "w") as f:
            f.write("\n".join(lines) + "\n")
        requests = []
        for _ in range(40):
            line = "%s\thttp://%s%s" % (rnd.choice(["GET", "POST"]), rnd.choice(HOSTS + ["d.test"]),
                                        rnd.choice(REQUEST_PATHS) + ("?q=1" if rnd.random() < 0.3 else ""))
            r = rnd.random()
            if r < 0.2:
                line += "\tX-T: 1"
            elif r < 0.3:
                line += "\tX-T: 12"
            requests.append(line)
        with open(name + ".requests", "w") as f:
            f.write("\n".join(requests) + "\n")


if __name__ == "__main__":
    main()
