#!/usr/bin/env python3
"""Focused schema check of certroute's Kubernetes renders (no cluster needed).

    schema_check.py FILE...

Each FILE is a multi-document YAML stream as `certroute routes render --to
gateway-api|ingress|ingressroute` writes it. Checks the fields the API server
would reject or the controllers need: apiVersion/kind, metadata.name as a
DNS-1123 label, the required spec structure of networking.k8s.io/v1 Ingress,
gateway.networking.k8s.io/v1 Gateway and HTTPRoute (v1alpha2 TLSRoute,
TCPRoute, UDPRoute), Traefik's traefik.io/v1alpha1 IngressRoute(TCP/UDP),
Middleware(TCP), TraefikService, ServersTransport(TCP), TLSOption, TLSStore,
and v1 Secret; pathType values; backend references with a port; references
between the objects of one file (parentRefs -> listeners, middlewares,
TraefikServices, Secrets). Exit 0 when every file passes, 1 otherwise, 77
(skip) when PyYAML is missing.
"""
import re
import sys

try:
    import yaml
except ImportError:  # Debian: python3-yaml
    print("schema_check: PyYAML is missing (apt-get install python3-yaml)", file=sys.stderr)
    sys.exit(77)

LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
IPV4 = re.compile(r"^[0-9.]+$")
HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
GW = "gateway.networking.k8s.io/v1"
GW_ALPHA = "gateway.networking.k8s.io/v1alpha2"
TRAEFIK = "traefik.io/v1alpha1"
MIDDLEWARE_TYPES = {
    "addPrefix", "basicAuth", "buffering", "chain", "circuitBreaker", "compress", "contentType", "digestAuth",
    "errors", "forwardAuth", "grpcWeb", "headers", "inFlightReq", "ipAllowList", "ipWhiteList",
    "passTLSClientCert", "plugin", "rateLimit", "redirectRegex", "redirectScheme", "replacePath",
    "replacePathRegex", "retry", "stripPrefix", "stripPrefixRegex",
}
TCP_MIDDLEWARE_TYPES = {"inFlightConn", "ipAllowList", "ipWhiteList"}


class Checker:
    def __init__(self, path):
        self.path = path
        self.errors = []
        self.objects = {}  # (kind, name) -> doc

    def err(self, where, msg):
        self.errors.append(f"{self.path}: {where}: {msg}")

    def need(self, obj, key, typ, where):
        if not isinstance(obj, dict) or key not in obj:
            self.err(where, f"missing {key}")
            return None
        v = obj[key]
        if typ is not None and not isinstance(v, typ) or (typ is int and isinstance(v, bool)):
            self.err(where, f"{key} must be {typ.__name__}, not {type(v).__name__} ({v!r})")
            return None
        return v

    def port(self, v, where):
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 65535:
            self.err(where, f"port must be an integer 1-65535, not {v!r}")

    def hostname(self, h, where, wildcard=True):
        if not isinstance(h, str) or not HOSTNAME.match(h) or len(h) > 253 or IPV4.match(h):
            self.err(where, f"invalid hostname {h!r}")
        elif not wildcard and h.startswith("*"):
            self.err(where, f"wildcard not allowed: {h!r}")

    # ---- documents ----

    def check(self, docs):
        for i, d in enumerate(docs):
            if d is None:
                continue
            where = f"document {i + 1}"
            if not isinstance(d, dict):
                self.err(where, "not a mapping")
                continue
            api = self.need(d, "apiVersion", str, where)
            kind = self.need(d, "kind", str, where)
            md = self.need(d, "metadata", dict, where)
            if md is None or api is None or kind is None:
                continue
            name = self.need(md, "name", str, where)
            where = f"{kind} {name}"
            if name is not None:
                if not LABEL.match(name) or len(name) > 63:
                    self.err(where, f"metadata.name {name!r} is not a DNS-1123 label")
                if (kind, name) in self.objects:
                    self.err(where, "duplicate name")
                self.objects[(kind, name)] = d
            ns = md.get("namespace")
            if ns is not None and (not isinstance(ns, str) or not LABEL.match(ns)):
                self.err(where, f"metadata.namespace {ns!r} is not a DNS-1123 label")
            for k, v in (md.get("annotations") or {}).items():
                if not isinstance(v, str):
                    self.err(where, f"annotation {k} must be a string")
            handler = {
                ("networking.k8s.io/v1", "Ingress"): self.ingress,
                (GW, "Gateway"): self.gateway,
                (GW, "HTTPRoute"): self.httproute,
                (GW_ALPHA, "TLSRoute"): self.l4route,
                (GW_ALPHA, "TCPRoute"): self.l4route,
                (GW_ALPHA, "UDPRoute"): self.l4route,
                (TRAEFIK, "IngressRoute"): self.ingressroute,
                (TRAEFIK, "IngressRouteTCP"): self.ingressroute,
                (TRAEFIK, "IngressRouteUDP"): self.ingressroute,
                (TRAEFIK, "Middleware"): self.middleware,
                (TRAEFIK, "MiddlewareTCP"): self.middleware,
                (TRAEFIK, "TraefikService"): self.traefikservice,
                (TRAEFIK, "ServersTransport"): self.plain_spec,
                (TRAEFIK, "ServersTransportTCP"): self.plain_spec,
                (TRAEFIK, "TLSOption"): self.plain_spec,
                (TRAEFIK, "TLSStore"): self.tlsstore,
                ("v1", "Secret"): self.secret,
            }.get((api, kind))
            if handler is None:
                self.err(where, f"unexpected apiVersion/kind {api}/{kind}")
                continue
            handler(d, where)
        self.references()

    def spec(self, d, where):
        s = self.need(d, "spec", dict, where)
        return s if s is not None else {}

    # ---- networking.k8s.io/v1 ----

    def ingress(self, d, where):
        s = self.spec(d, where)
        if "rules" not in s and "defaultBackend" not in s:
            self.err(where, "spec needs rules or defaultBackend")
        for i, rule in enumerate(s.get("rules") or []):
            w = f"{where} rules[{i}]"
            if "host" in rule:
                self.hostname(rule["host"], w)
            http = self.need(rule, "http", dict, w)
            paths = self.need(http, "paths", list, w) if http is not None else None
            if paths is not None and not paths:
                self.err(w, "http.paths is empty")
            for j, p in enumerate(paths or []):
                pw = f"{w} paths[{j}]"
                pt = self.need(p, "pathType", str, pw)
                if pt is not None and pt not in ("Exact", "Prefix", "ImplementationSpecific"):
                    self.err(pw, f"pathType {pt!r}")
                path = self.need(p, "path", str, pw)
                if path is not None and not path.startswith("/"):
                    self.err(pw, f"path {path!r} is not absolute")
                if pt in ("Exact", "Prefix") and path and ("//" in path or "/./" in path or "/../" in path):
                    self.err(pw, f"path {path!r} is not a canonical path")
                svc = self.need(self.need(p, "backend", dict, pw) or {}, "service", dict, pw)
                if svc is not None:
                    n = self.need(svc, "name", str, pw)
                    if n is not None and not DNS1035.match(n):
                        self.err(pw, f"service name {n!r} is not a DNS-1035 label")
                    port = self.need(svc, "port", dict, pw)
                    if port is not None:
                        if "number" in port:
                            self.port(port["number"], pw)
                        elif not isinstance(port.get("name"), str):
                            self.err(pw, "backend port needs number or name")
        for i, t in enumerate(s.get("tls") or []):
            w = f"{where} tls[{i}]"
            for h in t.get("hosts") or []:
                self.hostname(h, w)
            if "secretName" in t and not (isinstance(t["secretName"], str) and LABEL.match(t["secretName"])):
                self.err(w, f"secretName {t['secretName']!r}")

    # ---- gateway.networking.k8s.io ----

    def gateway(self, d, where):
        s = self.spec(d, where)
        self.need(s, "gatewayClassName", str, where)
        ls = self.need(s, "listeners", list, where)
        if ls is not None and not 1 <= len(ls) <= 64:
            self.err(where, "listeners must have 1 to 64 items")
        names = set()
        for i, l in enumerate(ls or []):
            w = f"{where} listeners[{i}]"
            n = self.need(l, "name", str, w)
            if n is not None:
                if not HOSTNAME.match(n) or n.startswith("*"):
                    self.err(w, f"listener name {n!r}")
                if n in names:
                    self.err(w, f"duplicate listener name {n}")
                names.add(n)
            self.port(l.get("port"), w)
            proto = self.need(l, "protocol", str, w)
            tls = l.get("tls")
            if proto == "HTTPS" or (proto == "TLS" and tls and tls.get("mode", "Terminate") == "Terminate"):
                if not isinstance(tls, dict) or tls.get("mode", "Terminate") != "Terminate":
                    self.err(w, f"{proto} listener needs tls.mode Terminate")
                elif not tls.get("certificateRefs"):
                    self.err(w, "tls.certificateRefs is required in Terminate mode")
                else:
                    for r in tls["certificateRefs"]:
                        if not isinstance(r.get("name"), str) or r.get("kind", "Secret") != "Secret":
                            self.err(w, f"certificateRef {r!r}")
            elif proto == "TLS":
                if not isinstance(tls, dict) or tls.get("mode") not in ("Terminate", "Passthrough"):
                    self.err(w, "TLS listener needs tls.mode")
            elif proto in ("HTTP", "TCP", "UDP"):
                if tls is not None:
                    self.err(w, f"{proto} listener must not have tls")
            elif proto is not None:
                self.err(w, f"protocol {proto!r}")
            if "hostname" in l:
                self.hostname(l["hostname"], w)

    def parent_refs(self, s, where):
        refs = self.need(s, "parentRefs", list, where)
        if refs is not None and not refs:
            self.err(where, "parentRefs is empty")
        for r in refs or []:
            if not isinstance(r.get("name"), str):
                self.err(where, f"parentRef without name: {r!r}")
            self.pending.append((where, r))

    def backend_refs(self, refs, where):
        for r in refs or []:
            n = r.get("name")
            if not isinstance(n, str) or not DNS1035.match(n):
                self.err(where, f"backendRef name {n!r} is not a DNS-1035 label")
            if r.get("kind", "Service") == "Service":
                self.port(r.get("port"), where)
            w = r.get("weight", 1)
            if not isinstance(w, int) or not 0 <= w <= 1000000:
                self.err(where, f"weight {w!r}")

    def httproute(self, d, where):
        s = self.spec(d, where)
        self.parent_refs(s, where)
        hosts = s.get("hostnames") or []
        if len(hosts) > 16:
            self.err(where, "more than 16 hostnames")
        for h in hosts:
            self.hostname(h, where)
        rules = s.get("rules") or []
        if len(rules) > 16:
            self.err(where, "more than 16 rules")
        for i, rule in enumerate(rules):
            w = f"{where} rules[{i}]"
            matches = rule.get("matches") or []
            if len(matches) > 64:
                self.err(w, "more than 64 matches")
            for m in matches:
                p = m.get("path")
                if p is not None:
                    if p.get("type") not in ("Exact", "PathPrefix", "RegularExpression"):
                        self.err(w, f"path type {p.get('type')!r}")
                    v = p.get("value")
                    if not isinstance(v, str) or (p.get("type") != "RegularExpression" and not v.startswith("/")):
                        self.err(w, f"path value {v!r}")
                for key in ("headers", "queryParams"):
                    for h in m.get(key) or []:
                        if h.get("type", "Exact") not in ("Exact", "RegularExpression"):
                            self.err(w, f"{key} type {h.get('type')!r}")
                        if not isinstance(h.get("name"), str) or (key == "headers" and not HEADER_NAME.match(h["name"])):
                            self.err(w, f"{key} name {h.get('name')!r}")
                        if not isinstance(h.get("value"), str) or not h["value"]:
                            self.err(w, f"{key} value {h.get('value')!r}")
                if "method" in m and m["method"] not in HTTP_METHODS:
                    self.err(w, f"method {m['method']!r}")
            filters = rule.get("filters") or []
            kinds = [f.get("type") for f in filters]
            for f in filters:
                t = f.get("type")
                key = {"RequestHeaderModifier": "requestHeaderModifier", "ResponseHeaderModifier": "responseHeaderModifier",
                       "RequestMirror": "requestMirror", "RequestRedirect": "requestRedirect", "URLRewrite": "urlRewrite",
                       "ExtensionRef": "extensionRef"}.get(t)
                if key is None or not isinstance(f.get(key), dict):
                    self.err(w, f"filter {f!r}")
                    continue
                if t != "RequestMirror" and kinds.count(t) > 1:
                    self.err(w, f"filter {t} repeated")
                body = f[key]
                if t == "RequestRedirect" and body.get("statusCode", 302) not in (301, 302):
                    self.err(w, f"redirect statusCode {body.get('statusCode')!r}")
                if t == "RequestMirror":
                    self.backend_refs([body.get("backendRef") or {}], w)
                if t == "URLRewrite":
                    path = body.get("path") or {}
                    if path.get("type") == "ReplacePrefixMatch":
                        if any((m.get("path") or {}).get("type", "PathPrefix") != "PathPrefix" for m in matches):
                            self.err(w, "ReplacePrefixMatch needs PathPrefix matches only")
                    elif path.get("type") not in ("ReplaceFullPath", None):
                        self.err(w, f"URLRewrite path type {path.get('type')!r}")
                if t in ("RequestHeaderModifier", "ResponseHeaderModifier"):
                    for h in body.get("set") or []:
                        if not HEADER_NAME.match(str(h.get("name"))) or not isinstance(h.get("value"), str):
                            self.err(w, f"header {h!r}")
            if "RequestRedirect" in kinds and "URLRewrite" in kinds:
                self.err(w, "RequestRedirect and URLRewrite together")
            if "RequestRedirect" in kinds and rule.get("backendRefs"):
                self.err(w, "a redirecting rule has backendRefs")
            if "RequestRedirect" not in kinds and not rule.get("backendRefs"):
                self.err(w, "no backendRefs")
            self.backend_refs(rule.get("backendRefs"), w)

    def l4route(self, d, where):
        s = self.spec(d, where)
        self.parent_refs(s, where)
        for h in s.get("hostnames") or []:
            self.hostname(h, where)
        rules = self.need(s, "rules", list, where) or []
        for r in rules:
            if not r.get("backendRefs"):
                self.err(where, "a rule without backendRefs")
            self.backend_refs(r.get("backendRefs"), where)

    # ---- traefik.io/v1alpha1 ----

    def ingressroute(self, d, where):
        s = self.spec(d, where)
        kind = d["kind"]
        for ep in s.get("entryPoints") or []:
            if not isinstance(ep, str):
                self.err(where, f"entryPoint {ep!r}")
        routes = self.need(s, "routes", list, where)
        if routes is not None and not routes:
            self.err(where, "routes is empty")
        for i, r in enumerate(routes or []):
            w = f"{where} routes[{i}]"
            if kind == "IngressRoute" and r.get("kind") != "Rule":
                self.err(w, "kind must be Rule")
            if kind != "IngressRouteUDP":
                m = self.need(r, "match", str, w)
                if m is not None and not m.strip():
                    self.err(w, "empty match")
            if "priority" in r and (not isinstance(r["priority"], int) or isinstance(r["priority"], bool)):
                self.err(w, f"priority {r['priority']!r}")
            for mw in r.get("middlewares") or []:
                n = mw.get("name")
                if not isinstance(n, str) or not LABEL.match(n):
                    self.err(w, f"middleware ref {mw!r}")
                else:
                    self.pending.append((w, {"_middleware": n, "_tcp": kind == "IngressRouteTCP"}))
            svcs = self.need(r, "services", list, w) or []
            if not svcs:
                self.err(w, "services is empty")
            for sv in svcs:
                self.traefik_service_ref(sv, w)
        if "tls" in s and not isinstance(s["tls"], dict):
            self.err(where, "tls must be a mapping")

    def traefik_service_ref(self, sv, w):
        n = sv.get("name")
        kind = sv.get("kind", "Service")
        if kind not in ("Service", "TraefikService"):
            self.err(w, f"service kind {kind!r}")
        if not isinstance(n, str) or not n:
            self.err(w, f"service without name: {sv!r}")
            return
        if kind == "Service":
            if not DNS1035.match(n):
                self.err(w, f"service name {n!r} is not a DNS-1035 label")
            if "port" not in sv:
                self.err(w, f"service {n} has no port")
            elif isinstance(sv["port"], int):
                self.port(sv["port"], w)
            elif not isinstance(sv["port"], str):
                self.err(w, f"port {sv['port']!r}")
        elif not n.endswith("@internal"):
            self.pending.append((w, {"_traefikservice": n}))
        if "weight" in sv and (not isinstance(sv["weight"], int) or sv["weight"] < 0):
            self.err(w, f"weight {sv['weight']!r}")

    def middleware(self, d, where):
        s = self.spec(d, where)
        allowed = MIDDLEWARE_TYPES if d["kind"] == "Middleware" else TCP_MIDDLEWARE_TYPES
        types = [k for k in s if k in allowed]
        if len(types) != 1 or len(s) != 1:
            self.err(where, f"spec must hold exactly one middleware type, not {sorted(s)}")
            return
        body = s[types[0]]
        if types[0] in ("basicAuth", "digestAuth"):
            if not isinstance(body, dict) or "users" in body or "usersFile" in body:
                self.err(where, "basicAuth/digestAuth take a secret in the CRD, not users/usersFile")
            elif "secret" in body:
                self.pending.append((where, {"_secret": body["secret"]}))
        if types[0] == "chain":
            for r in body.get("middlewares") or []:
                self.pending.append((where, {"_middleware": r.get("name"), "_tcp": False}))
        if types[0] == "errors" and "service" in body:
            if not isinstance(body["service"], dict):
                self.err(where, "errors.service must be a service reference")
            else:
                self.traefik_service_ref(body["service"], where)

    def traefikservice(self, d, where):
        s = self.spec(d, where)
        if ("weighted" in s) == ("mirroring" in s):
            self.err(where, "spec needs exactly one of weighted, mirroring")
        if "weighted" in s:
            for sv in s["weighted"].get("services") or []:
                self.traefik_service_ref(sv, where)
        if "mirroring" in s:
            m = s["mirroring"]
            self.traefik_service_ref(m, where)
            for sv in m.get("mirrors") or []:
                self.traefik_service_ref(sv, where)

    def plain_spec(self, d, where):
        self.spec(d, where)

    def tlsstore(self, d, where):
        s = self.spec(d, where)
        for c in s.get("certificates") or []:
            if not isinstance(c.get("secretName"), str):
                self.err(where, f"certificate {c!r}")

    def secret(self, d, where):
        if "spec" in d:
            self.err(where, "a Secret has no spec")
        if not isinstance(d.get("stringData", d.get("data")), dict):
            self.err(where, "a Secret needs data or stringData")

    # ---- references ----

    pending = None

    def references(self):
        listeners = {}
        for (kind, name), d in self.objects.items():
            if kind == "Gateway":
                listeners[name] = {l.get("name"): l.get("protocol") for l in d["spec"].get("listeners") or []}
        for where, r in self.pending:
            if "_middleware" in r:
                k = "MiddlewareTCP" if r["_tcp"] else "Middleware"
                if (k, r["_middleware"]) not in self.objects:
                    self.err(where, f"{k} {r['_middleware']!r} is not in the output")
            elif "_traefikservice" in r:
                if ("TraefikService", r["_traefikservice"]) not in self.objects:
                    self.err(where, f"TraefikService {r['_traefikservice']!r} is not in the output")
            elif "_secret" in r:
                if ("Secret", r["_secret"]) not in self.objects:
                    self.err(where, f"Secret {r['_secret']!r} is not in the output")
            else:
                gw = r.get("name")
                if gw not in listeners:
                    self.err(where, f"parentRef Gateway {gw!r} is not in the output")
                elif "sectionName" in r and r["sectionName"] not in listeners[gw]:
                    self.err(where, f"parentRef sectionName {r['sectionName']!r} is not a listener of {gw}")
                else:
                    proto = listeners[gw].get(r.get("sectionName"))
                    kind = where.split()[0]
                    want = {"HTTPRoute": ("HTTP", "HTTPS"), "TLSRoute": ("TLS",), "TCPRoute": ("TCP",), "UDPRoute": ("UDP",)}
                    if proto is not None and proto not in want.get(kind, (proto,)):
                        self.err(where, f"{kind} attached to a {proto} listener")


def main(paths):
    if not paths:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        c = Checker(path)
        c.pending = []
        try:
            with open(path, encoding="utf-8") as f:
                docs = list(yaml.safe_load_all(f))
        except (OSError, yaml.YAMLError) as e:
            print(f"{path}: does not parse as YAML: {e}")
            failed += 1
            continue
        c.check(docs)
        for e in c.errors:
            print(e)
        failed += bool(c.errors)
    if failed:
        print(f"schema_check: {failed} of {len(paths)} file(s) fail")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
