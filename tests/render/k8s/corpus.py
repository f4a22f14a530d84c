#!/usr/bin/env python3
"""Every corpus file that `certroute routes lint` accepts renders to the
Kubernetes targets and to traefik without a crash (exit 0); the Kubernetes
outputs pass schema_check.py and the traefik output lints without errors.

    corpus.py PATH-TO-certroute CORPUS-DIR
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import schema_check  # noqa: E402  (exits 77 without PyYAML)

K8S = ("gateway-api", "ingress", "ingressroute")


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    binary, corpus = os.path.realpath(sys.argv[1]), sys.argv[2]
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(corpus) for f in fs
                   if f.endswith((".yml", ".yaml", ".toml", ".json")))
    failures, rendered, skipped = [], 0, 0
    with tempfile.TemporaryDirectory(prefix="certroute-corpus.") as tmp:
        for path in files:
            name = os.path.relpath(path, corpus)
            if run([binary, "routes", "lint", "-q", path]).returncode != 0:
                skipped += 1
                continue
            for target in K8S + ("traefik",):
                out = os.path.join(tmp, f"{os.path.basename(path)}.{target}.yaml")
                r = run([binary, "routes", "render", "--to", target, path, "-o", out])
                rendered += 1
                if r.returncode != 0:
                    failures.append(f"{name} --to {target}: exit {r.returncode}: {r.stderr.strip()}")
                    continue
                if target == "traefik":
                    lint = run([binary, "routes", "lint", out])
                    if lint.returncode != 0:
                        failures.append(f"{name} --to traefik: the output does not lint clean:\n{lint.stdout}")
                    continue
                c = schema_check.Checker(f"{name} --to {target}")
                c.pending = []
                try:
                    with open(out, encoding="utf-8") as f:
                        c.check(list(schema_check.yaml.safe_load_all(f)))
                except schema_check.yaml.YAMLError as e:
                    c.errors.append(f"{name} --to {target}: not YAML: {e}")
                failures.extend(c.errors)
    for f in failures:
        print("FAIL", f)
    print(f"corpus: {rendered} renders of {len(files) - skipped} files ({skipped} skipped: lint errors), "
          f"{len(failures)} failure(s)")
    return 1 if failures or rendered == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
